// 核酸检测与疫苗接种 (seed §2.4) without UI: the head's home buckets, one person's records, 数据更新至.
// Used by mobile/views/{Home,Bucket,Person}.vue and console/views/{Ledger,Feeds}.vue.
import { ref } from 'vue'
import { formatHealthTime, formatTime } from './format.js'

/**
 * The head's home buckets (GET /api/dashboard `buckets[].key`), with the seed's labels and boundaries:
 * n is how many hours ago the latest NAT sample was taken.
 */
export const BUCKETS = [
  { key: 'h24', label: '24小时', range: 'n ≤ 24小时' },
  { key: 'h48', label: '48小时', range: '24 < n ≤ 48小时' },
  { key: 'h72', label: '72小时', range: '48 < n ≤ 72小时' },
  { key: 'over72', label: '大于72小时', range: 'n > 72小时' },
  { key: 'unmatched', label: '未匹配', range: '近14天无核酸记录' },
]

export function bucketOf(key) {
  return BUCKETS.find((b) => b.key === key) || null
}

/** The line under the buckets (seed §2.4.2 screenshot). */
export const NAT_SOURCE_TEXT = '核酸检测统计以核酸采样时间为准。系统核酸数据源为广州市内近14天的核酸检测数据。'

/** 未匹配说明 when the API gives no `note` (seed §2.4.2). */
export const UNMATCHED_NOTE_FALLBACK =
  '未匹配表示在下发的广州的核酸库里面没有找到该人员近 14 天的核酸检测数据记录。其原因有可能是人员身份证号码录入有误无法匹配核酸库数据，或者该人员确实无近 14 日的广州的核酸检测记录。'

export const NAT_EMPTY_TEXT = '近7天无核酸检测记录'
export const VACCINE_EMPTY_TEXT = '暂无疫苗接种记录'
export const NO_DATA_TEXT = '暂无数据'

const DOSE_LABELS = { 1: '第一针', 2: '第二针', 3: '第三针' }

/** 1/2/3 → 第一针/第二针/第三针. */
export function doseLabel(dose) {
  return DOSE_LABELS[dose] || (dose ? `第${dose}针` : '')
}

/**
 * One kind of Freshness (`freshness.nat` / `freshness.vaccine`) → the time after 数据更新至:
 * NAT "YYYY-MM-DD HH:mm" (newest sample, Asia/Shanghai), vaccine "YYYY-MM-DD" (day the register arrived);
 * 暂无数据 when nothing was ingested.
 */
export function dataUntilText(kindFreshness) {
  const v = kindFreshness?.data_until
  return v ? formatHealthTime(v) : NO_DATA_TEXT
}

/** When the last file of a kind arrived ("YYYY-MM-DD HH:mm"), or 暂无数据. */
export function lastReceivedText(kindFreshness) {
  const v = kindFreshness?.last_received_at
  return v ? formatTime(v) : NO_DATA_TEXT
}

/** GET /api/freshness: `freshness` (null until loaded), `load()`. */
export function useFreshness(api) {
  const freshness = ref(null)
  async function load() {
    try {
      freshness.value = await api.get('/api/freshness', null, { silent: true })
    } catch {
      freshness.value = null
    }
  }
  return { freshness, load }
}

/**
 * One person's 查看核酸 (last 7 days) and 疫苗接种: GET /api/health/{id}.
 * `load(id)` answers true when the records arrived; a failure has been shown by the api wrapper.
 */
export function usePersonHealth(api, options = {}) {
  const person = ref(null)
  const nat = ref([])
  const vaccine = ref([])
  const freshness = ref(null)
  const loading = ref(false)
  const loaded = ref(false)
  let seq = 0

  async function load(id) {
    const mine = ++seq
    loading.value = true
    loaded.value = false
    nat.value = []
    vaccine.value = []
    try {
      const res = await api.get(`/api/health/${encodeURIComponent(id)}`, null, options.requestOptions)
      if (mine !== seq) return false
      person.value = res.person || null
      nat.value = res.nat || []
      vaccine.value = res.vaccine || []
      freshness.value = res.freshness || null
      loaded.value = true
      return true
    } catch {
      return false
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  return { person, nat, vaccine, freshness, loading, loaded, load }
}

/** The head's enterprises (GET /api/staff/options), [] when they cannot be read. */
export async function loadHeadEnterprises(api) {
  try {
    const res = await api.get('/api/staff/options', null, { silent: true })
    return res?.enterprises || []
  } catch {
    return []
  }
}
