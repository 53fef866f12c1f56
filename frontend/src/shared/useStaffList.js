// The staff list page of an enterprise head (员工管理: 工作人员信息) without its UI, shared by
// console/views/Staff.vue (Element Plus table) and mobile/views/Staff.vue (Vant cards).
import { computed, onMounted, ref } from 'vue'
import { usePagedList } from './usePagedList.js'
import { useTask } from './useTask.js'

export const STAFF_PAGE_SIZES = [20, 50, 100, 200, 500]
export const NO_ENTERPRISES_TEXT = '暂无企业。请联系所属委办局或镇街登记企业信息。'

/**
 * The options (GET /api/staff/options), the paged list (usePagedList, filters q / enterprise_id) and deleting.
 * ui: { api, confirm(message) → Promise<boolean>, success(message),
 *       selectedIds() → the chosen ids, afterDelete(ids) → clear the selection, onLoaded(res)? }
 * Loads the options and the first page when mounted.
 */
export function useStaffList(ui) {
  const { api } = ui
  const options = ref({ enterprises: [], person_categories: [], residence_types: [] })
  const optionsLoaded = ref(false)
  const enterprises = computed(() => options.value.enterprises || [])
  const list = usePagedList((params) => api.get('/api/staff', params), {
    filters: { q: '', enterprise_id: '' },
    onLoaded: ui.onLoaded,
  })
  const { load } = list

  async function loadOptions() {
    try {
      options.value = await api.get('/api/staff/options')
    } catch {
      // shown
    } finally {
      optionsLoaded.value = true
    }
  }

  async function removeIds(ids) {
    try {
      const res = await api.post('/api/staff/batch-delete', { ids })
      ui.success(`已删除 ${res?.deleted ?? ids.length} 名人员`)
    } catch {
      return
    }
    ui.afterDelete(ids)
    load()
  }

  async function removeOne(row) {
    if (await ui.confirm(`确定删除人员“${row.name}”吗？删除后无法恢复。`)) removeIds([row.id])
  }

  async function removeSelected() {
    const ids = ui.selectedIds()
    if (!ids.length) return
    // one person ticked: name them, as 删除 on the row does (selections are kept to the page shown)
    const one = ids.length === 1 ? list.rows.value.find((r) => r.id === ids[0]) : null
    const message = one
      ? `确定删除人员“${one.name}”吗？删除后无法恢复。`
      : `确定删除选中的 ${ids.length} 名人员吗？删除后无法恢复。`
    if (await ui.confirm(message)) removeIds(ids)
  }

  onMounted(() => {
    loadOptions()
    load()
  })

  return { list, options, optionsLoaded, enterprises, removeOne, removeSelected }
}

/** 下载模板 and 导出全部 (of what the list shows: `query` is its applied filters), each with its spinner. */
export function useStaffDownloads(api, query) {
  const { busy: downloadingTemplate, run: downloadTemplate } = useTask(() =>
    api.download('/api/staff/template', { fallbackName: '员工信息导入模板.xlsx' }),
  )
  const { busy: exporting, run: exportAll } = useTask(() =>
    api.download('/api/staff/export', { query: { ...query }, fallbackName: '员工信息.xlsx' }),
  )
  return { downloadingTemplate, downloadTemplate, exporting, exportAll }
}
