// The add / edit person form (员工管理) without its UI: console/components/StaffDialog.vue (Element Plus) and
// mobile/components/StaffForm.vue (Vant) pass in their api and how they show things.
import { computed } from 'vue'
import { extraPayload, pruneExtra, useRecordForm } from './useRecordForm.js'

export const STAFF_BASE_FIELDS = ['enterprise_id', 'name', 'person_category', 'phone', 'id_number', 'residence_type', 'address']

/** The props of both staff form components (besides their show / modelValue). */
export const staffFormProps = {
  staffId: { type: String, default: null },
  // GET /api/staff/options
  options: { type: Object, default: () => ({ enterprises: [], person_categories: [], residence_types: [] }) },
  // preselected 主体名称 for a new person (the list's filter)
  defaultEnterpriseId: { type: String, default: '' },
}

/** What a blank 主体名称 is told (the server says the same, naming the enterprises). */
export function enterpriseMissingText(enterprises) {
  return (enterprises?.length || 0) > 1 ? '您管理多家企业，请选择员工所在的主体名称' : '请选择主体名称'
}

// the form reports these itself
const SILENT = ['DUPLICATE', 'STALE', 'VALIDATION']

export function emptyStaffForm() {
  return {
    enterprise_id: '',
    name: '',
    person_category: '',
    phone: '',
    id_number: '',
    residence_type: '',
    address: '',
    extra: {},
  }
}

/**
 * props: see staffFormProps
 * ui: { api, validate() → bool, close(), onSaved(saved?), success(message), error(message),
 *       alert(title, message), confirmStale(message) → promise, afterLoad()?, afterOpen()? }
 */
export function useStaffForm(props, ui) {
  const { api } = ui
  const isEdit = computed(() => !!props.staffId)
  const enterprises = computed(() => props.options?.enterprises || [])
  const personCategories = computed(() => props.options?.person_categories || [])
  const residenceTypes = computed(() => props.options?.residence_types || [])
  const url = () => `/api/staff/${encodeURIComponent(props.staffId)}`

  const record = useRecordForm({
    ...ui,
    blank: emptyStaffForm,
    versionKey: 'updated_at',
    isEdit,
    fetch: () => api.get(url()),
    save: () =>
      isEdit.value
        ? api.put(url(), { ...payload(), updated_at: record.version.value }, { silent: SILENT })
        : api.post('/api/staff', payload(), { silent: SILENT }),
    staleMessage: '该人员信息已被修改，当前内容已过期。请重新加载最新数据后再修改。',
    onError(e) {
      if (e.code === 'DUPLICATE') {
        ui.alert(isEdit.value ? '无法保存' : '无法新增', e.message)
        return true
      }
      if (e.code === 'VALIDATION' && !e.fields) {
        ui.error(e.message)
        return true
      }
      return false
    },
    // a field the form does not show (or none at all): show the whole message too
    onFieldErrors(e) {
      const keys = Object.keys(e.fields)
      if (!keys.length || keys.some((k) => !shownFields().has(k))) ui.error(e.message)
    },
  })
  const { form } = record

  const currentEnterprise = computed(() => enterprises.value.find((e) => e.id === form.enterprise_id) || null)
  const extraFields = computed(() => currentEnterprise.value?.staff_fields || [])

  function shownFields() {
    return new Set([...STAFF_BASE_FIELDS, ...extraFields.value.flatMap((f) => [`extra.${f.key}`, f.key])])
  }

  function payload() {
    return {
      enterprise_id: form.enterprise_id,
      name: form.name.trim(),
      person_category: form.person_category,
      phone: form.phone.trim(),
      id_number: form.id_number.trim(),
      residence_type: form.residence_type || '',
      address: form.address.trim(),
      extra: extraPayload(extraFields.value, form.extra),
    }
  }

  function onEnterpriseChange() {
    pruneExtra(form.extra, extraFields.value)
  }

  // a new person gets the list's 主体名称 filter, or the only enterprise
  function open() {
    record.open(() => {
      if (props.defaultEnterpriseId) form.enterprise_id = props.defaultEnterpriseId
      else if (enterprises.value.length === 1) form.enterprise_id = enterprises.value[0].id
    })
  }

  return {
    ...record,
    isEdit,
    enterprises,
    personCategories,
    residenceTypes,
    currentEnterprise,
    extraFields,
    onEnterpriseChange,
    open,
  }
}
