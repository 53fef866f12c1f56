// Display helpers shared by both apps.

const shanghai = (withSeconds) => new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  ...(withSeconds ? { second: '2-digit' } : {}),
  hourCycle: 'h23',
})
const minutesFormatter = shanghai(false)
const secondsFormatter = shanghai(true)

function shanghaiParts(value, formatter) {
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return null
  const p = {}
  for (const { type, value: v } of formatter.formatToParts(d)) p[type] = v
  return p
}

/** ISO-8601 (with offset) → "YYYY-MM-DD HH:mm" in Asia/Shanghai. */
export function formatTime(value) {
  if (!value) return ''
  const p = shanghaiParts(value, minutesFormatter)
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` : String(value)
}

/** ISO-8601 (with offset) → "YYYY-MM-DD HH:mm:ss" in Asia/Shanghai (操作日志). */
export function formatTimeSeconds(value) {
  if (!value) return ''
  const p = shanghaiParts(value, secondsFormatter)
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}` : String(value)
}

/** Today in Asia/Shanghai as "YYYY-MM-DD", or `offsetDays` from it (−6: six days ago). */
export function shanghaiDate(offsetDays = 0) {
  const p = shanghaiParts(new Date(), minutesFormatter)
  const day = new Date(Date.UTC(+p.year, +p.month - 1, +p.day + offsetDays))
  return day.toISOString().slice(0, 10)
}

/** 13812345678 → 138****5678; anything else unchanged. */
export function maskPhone(value) {
  const s = String(value ?? '')
  return /^1\d{10}$/.test(s) ? `${s.slice(0, 3)}****${s.slice(7)}` : s
}

export const PHONE_RE = /^1[3-9]\d{9}$/
export const PASSWORD_RE = /^(?=.*[A-Za-z])(?=.*\d).{8,}$/

/** The 姓名 column's min-width (px) in every table: five characters on one line (a 4-character name never wraps). */
export const NAME_MIN_WIDTH = 88

/** What an empty value shows as (health fields not yet matched, optional fields left blank). */
export const EMPTY_TEXT = '暂无'

/** value, or 暂无 when it is empty. */
export function orEmpty(value) {
  return value === null || value === undefined || String(value).trim() === '' ? EMPTY_TEXT : value
}

/**
 * Health times (核酸采样/检测时间, 疫苗接种时间): a bare date ("2022-06-07") is shown as is, a time with
 * an offset as "YYYY-MM-DD HH:mm" in Asia/Shanghai; empty → 暂无.
 */
export function formatHealthTime(value) {
  if (!value) return EMPTY_TEXT
  const s = String(value)
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s
  return formatTime(s) || EMPTY_TEXT
}

/**
 * The six health fields of a Staff / LedgerRow, in the seed's order, with their labels. 最近一次核酸检测时间
 * is the sampling time everywhere (the statistics, the head's list and the pushed Excel count by it:
 * "核酸检测统计以核酸采样时间为准"); when the result came back is 结果时间.
 */
export const NAT_TIME_KEY = 'last_sampled_at'
export const HEALTH_FIELDS = [
  { key: 'last_result', label: '最近一次核酸检测结果', time: false },
  { key: NAT_TIME_KEY, label: '最近一次核酸检测时间', time: true },
  { key: 'last_tested_at', label: '最近一次核酸结果时间', time: true },
  { key: 'dose1_at', label: '第一针疫苗接种时间', time: true },
  { key: 'dose2_at', label: '第二针疫苗接种时间', time: true },
  { key: 'dose3_at', label: '第三针疫苗接种时间', time: true },
]

/** 第一针/第二针/第三针疫苗接种时间: the dose columns of the ledger and the head's staff list. */
export const DOSE_FIELDS = HEALTH_FIELDS.filter((f) => f.key.startsWith('dose'))

/**
 * A long text as two lines for a narrow table column, broken where it reads well: the health headers
 * (最近一次核酸 / 检测结果, 第一针疫苗 / 接种时间), the head's (负责人 / 姓名, 负责人 / 电话), 居住 / 地址, a time
 * (2026-12-03 / 00:25) and an implied dose (已接种 / （日期不详）).
 */
export function twoLines(text) {
  const when = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2})?)$/.exec(text || '')
  if (when) return [when[1], when[2]]
  const m = /^(最近一次核酸|.+疫苗|已接种|负责人|居住)(.+)$/.exec(text || '')
  return m ? [m[1], m[2]] : [text]
}

/** A NAT result (阴性/阳性/未出结果) is positive. */
export function isPositive(result) {
  return /阳/.test(result || '')
}

/** The class of a row's 最近一次核酸检测结果: `result-positive` when it is 阳性 (the page shows it in red). */
export function resultClass(row) {
  return isPositive(row?.health?.last_result) ? 'result-positive' : ''
}

/** One health value of a row for display. */
export function healthText(row, key) {
  const v = row?.health?.[key]
  const f = HEALTH_FIELDS.find((x) => x.key === key)
  return f && f.time ? formatHealthTime(v) : orEmpty(v)
}
