// 今日未按规定检测 (§2.6) of an enterprise head, without UI: GET /api/dashboard/shortfalls, one page at a time,
// for the head's 主体名称 choice. Used by mobile/components/ShortfallCard.vue and console/components/StaffShortfalls.vue.
import { computed, ref, unref, watch } from 'vue'
import { formatHealthTime } from './format.js'
import { usePagedList } from './usePagedList.js'

/** What the list says when today's check has no list to show (`status` pending / none). */
export const SHORTFALL_STATUS_TEXT = {
  pending: '今日检查尚未完成，完成后将显示未按规定检测的员工。',
  none: '暂无检查结果。系统每天凌晨按所属类别的检测规则核对员工的核酸检测记录。',
}
export const SHORTFALL_STALE_TEXT = '核酸数据未按时更新，名单仅供参考'
export const SHORTFALL_NONE_TEXT = '今日员工均已按规定检测'

/**
 * api – the app's api; enterpriseId – a ref (or getter) of the chosen enterprise ('' = all of the head's).
 * Answers the paged list (usePagedList) and the day's `status`, `stale`, `dataUntil`, `day`, `loaded`.
 */
export function useShortfalls(api, enterpriseId, { pageSize = 20 } = {}) {
  const status = ref('')
  const stale = ref(false)
  const dataUntil = ref(null)
  const day = ref('')
  const loaded = ref(false)
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
      },
    },
  )
  const dataUntilText = computed(() => (dataUntil.value ? formatHealthTime(dataUntil.value) : '暂无数据'))
  const done = computed(() => status.value === 'done')
  watch(current, () => list.firstPage())
  return { list, status, stale, dataUntil, dataUntilText, day, loaded, done }
}
