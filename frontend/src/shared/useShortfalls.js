// 今日未按规定检测 (§2.6) of an enterprise head, without UI: GET /api/dashboard/shortfalls, one page at a time,
// for the head's 主体名称 choice. Used by mobile/components/ShortfallCard.vue and console/components/StaffShortfalls.vue.
import { computed, ref, unref, watch } from 'vue'
import { formatHealthTime, shanghaiDate } from './format.js'
import { usePagedList } from './usePagedList.js'

/** What the list says when today's check has no list to show (`status` pending / none). */
export const SHORTFALL_STATUS_TEXT = {
  pending: '今日检查尚未完成，完成后将显示未按规定检测的员工。',
  none: '暂无检查结果。系统每天凌晨按所属类别的检测规则核对员工的核酸检测记录。',
}
export const SHORTFALL_STALE_TEXT = '核酸数据未按时更新，名单仅供参考'
export const SHORTFALL_NONE_TEXT = '今日员工均已按规定检测'
/** An empty list of a head who has nobody registered: nobody was checked, so nobody "tested as required". */
export const SHORTFALL_NO_STAFF_TEXT = '暂无员工，请先在员工管理中登记'

/**
 * When the person must test. `due` is the run day (the first day the rule's window no longer covers their
 * last sample), so a due day that is today reads 请于今日检测 — never "应于 <today> 前", which is yesterday.
 */
export function dueText(due, today = shanghaiDate()) {
  if (!due) return ''
  if (due === today) return '请于今日检测'
  return due < today ? `应于 ${due} 检测（已过期）` : `请于 ${due} 检测`
}

/** The 应检测日期 column: the day, and （今日） when it is today. */
export function dueDayText(due, today = shanghaiDate()) {
  if (!due) return ''
  return due === today ? `${due}（今日）` : due
}

/**
 * api – the app's api; enterpriseId – a ref (or getter) of the chosen enterprise ('' = all of the head's).
 * Answers the paged list (usePagedList) and the day's `status`, `stale`, `dataUntil`, `day`, `loaded`,
 * and `emptyText`: what an empty finished list says (no staff registered, or everyone tested).
 */
export function useShortfalls(api, enterpriseId, { pageSize = 20 } = {}) {
  const status = ref('')
  const stale = ref(false)
  const dataUntil = ref(null)
  const day = ref('')
  const loaded = ref(false)
  const staffTotal = ref(null) // the head's staff for the chosen 主体名称, asked for only when the list is empty
  const current = () => (typeof enterpriseId === 'function' ? enterpriseId() : unref(enterpriseId)) || ''
  const list = usePagedList(
    (params) => api.get('/api/dashboard/shortfalls', { ...params, enterprise_id: current() }, { silent: true }),
    {
      pageSize,
      clearTotalOnError: true,
      onLoaded(res) {
        status.value = res.status || 'none'
        stale.value = !!res.stale
        dataUntil.value = res.data_until || null
        day.value = res.day || ''
        loaded.value = true
        if (res.status === 'done' && !res.total) countStaff()
      },
    },
  )
  let countSeq = 0
  async function countStaff() {
    const mine = ++countSeq
    staffTotal.value = undefined // counting: the empty list says nothing until it knows which it is
    try {
      const res = await api.get('/api/dashboard', { enterprise_id: current() }, { silent: true })
      if (mine === countSeq) staffTotal.value = res?.total ?? null
    } catch {
      if (mine === countSeq) staffTotal.value = null
    }
  }
  const dataUntilText = computed(() => (dataUntil.value ? formatHealthTime(dataUntil.value) : '暂无数据'))
  const done = computed(() => status.value === 'done')
  const emptyText = computed(() => {
    if (staffTotal.value === undefined) return ''
    return staffTotal.value === 0 ? SHORTFALL_NO_STAFF_TEXT : SHORTFALL_NONE_TEXT
  })
  // the server's day: the list is that day's, whatever the browser's clock says
  const today = computed(() => day.value || shanghaiDate())
  watch(current, () => {
    staffTotal.value = null
    list.firstPage()
  })
  return { list, status, stale, dataUntil, dataUntilText, day, today, loaded, done, emptyText }
}
