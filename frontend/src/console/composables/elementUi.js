// How the console shows the shared form / list logic (src/shared) with Element Plus.
import { nextTick } from 'vue'
import { ElMessage, ElMessageBox } from 'element-plus'

/**
 * The UI half of useRecordForm / useStaffForm for an el-dialog holding an el-form
 * (props `modelValue`, emits `update:modelValue` and `saved`).
 */
export function dialogFormUi(formRef, emit) {
  const clearValidate = () => formRef.value?.clearValidate()
  return {
    validate: () => formRef.value.validate().catch(() => false),
    async afterLoad() {
      await nextTick()
      clearValidate()
    },
    afterOpen: () => nextTick(clearValidate),
    close: () => emit('update:modelValue', false),
    onSaved: (...saved) => emit('saved', ...saved),
    success: (message) => ElMessage.success(message),
    error: (message) => ElMessage.error(message),
    alert: (title, message) =>
      ElMessageBox.alert(message, title, { type: 'warning', confirmButtonText: '知道了' }).catch(() => {}),
    confirmStale: (message) =>
      ElMessageBox.confirm(message, '数据已更新', {
        type: 'warning',
        confirmButtonText: '重新加载',
        cancelButtonText: '取消',
      }),
  }
}

/** 删除确认 with the buttons 确定删除 / 取消; answers whether it was confirmed. */
export async function confirmDelete(message) {
  try {
    await ElMessageBox.confirm(message, '删除确认', {
      type: 'warning',
      confirmButtonText: '确定删除',
      cancelButtonText: '取消',
      confirmButtonClass: 'el-button--danger',
    })
    return true
  } catch {
    return false
  }
}
