// The dialogs that edit a list of 粤政易 recipients (告警设置, 专班推送人员, 运维接收人): load it, save it with
// the server's version as an optimistic lock, point at the recipient the server names, show what the server
// warns about after a save (粤政易 could not be reached to check a new account).
import { computed, nextTick, ref } from 'vue'
import { ElMessageBox } from 'element-plus'
import { api } from '../api.js'
import { dialogFormUi } from '../composables/elementUi.js'
import { formatTime } from '@/shared/format.js'
import { useRecordForm } from '@/shared/useRecordForm.js'
import { withKey, withoutRecipientErrors } from './recipients.js'

/**
 * o.url()            – the setting's URL (GET and PUT)
 * o.formRef, o.emit  – the dialog's el-form and emit (`update:modelValue`, `saved`)
 * o.blank()          – the empty form (`recipients: []` and whatever else the setting has)
 * o.payload(form, version) – the PUT body
 * o.staleMessage     – what a 409 STALE says
 * o.dialogClass      – the dialog's class: the first field in error is brought into view
 */
export function useRecipientsForm(o) {
  const setting = ref(null)
  const record = useRecordForm({
    ...dialogFormUi(o.formRef, o.emit),
    blank: o.blank,
    versionKey: 'version',
    isEdit: true,
    async fetch() {
      const s = await api.get(o.url())
      setting.value = s
      return { ...s, recipients: (s.recipients || []).map(withKey) }
    },
    async save() {
      const saved = await api.put(o.url(), o.payload(record.form, record.version.value ?? 0), { silent: ['STALE'] })
      setting.value = saved
      showWarnings(saved?.warnings)
      return saved
    },
    staleMessage: o.staleMessage,
    // the server names the field (recipients[2].user_id): bring the first one into view
    onFieldErrors: () =>
      nextTick(() => document.querySelector(`.${o.dialogClass} .is-error`)?.scrollIntoView({ block: 'center' })),
  })

  const editable = computed(() => !!setting.value?.editable)
  const updatedText = computed(() => {
    const s = setting.value
    if (!s?.updated_at) return ''
    return `最后修改：${formatTime(s.updated_at)}${s.updated_by ? `（${s.updated_by}）` : ''}`
  })

  function onOpen() {
    setting.value = null
    record.open()
  }

  // a row went: the server's errors name rows by position, so they would point at the wrong one
  function onRemoved() {
    record.errors.value = withoutRecipientErrors(record.errors.value)
    nextTick(() => o.formRef.value?.clearValidate())
  }

  return { ...record, setting, editable, updatedText, onOpen, onRemoved }
}

/** Saved, but the server has something to say (e.g. 粤政易 could not be reached to check a new account). */
function showWarnings(warnings) {
  if (!warnings?.length) return
  ElMessageBox.alert(warnings.join('\n'), '已保存，请注意', {
    type: 'warning',
    confirmButtonText: '知道了',
    customClass: 'recipients-warnings',
  }).catch(() => {})
}
