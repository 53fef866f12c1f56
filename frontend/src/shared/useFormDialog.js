import { ref } from 'vue'

/** The add / edit dialog of a list page: `editingId` is null for 新增, the row's id for 编辑. */
export function useFormDialog() {
  const visible = ref(false)
  const editingId = ref(null)
  function openCreate() {
    editingId.value = null
    visible.value = true
  }
  function openEdit(row) {
    editingId.value = row.id
    visible.value = true
  }
  return { visible, editingId, openCreate, openEdit }
}
