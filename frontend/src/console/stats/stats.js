// 数据统计 (seed §2.4.1): the period of 核酸数据统计, the numbers one can click, the category select.
import { computed } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { session, loadLedgerCategories } from '../auth.js'
import { shanghaiDate } from '@/shared/format.js'

/** What the picker shows, and what it holds: the API's `YYYY-MM-DDTHH:mm` (Asia/Shanghai wall-clock time). */
export const PERIOD_FORMAT = 'YYYY-MM-DD HH:mm'
export const PERIOD_VALUE_FORMAT = 'YYYY-MM-DD[T]HH:mm'
/** The feeds keep 14 days: today and the 13 before it. */
export const PERIOD_DAYS = 14

/** Today 00:00 – today 23:59 (Asia/Shanghai), or `fromOffset` days back to today. */
export function defaultPeriod(fromOffset = 0, toOffset = 0) {
  return [`${shanghaiDate(fromOffset)}T00:00`, `${shanghaiDate(toOffset)}T23:59`]
}

/** The picker's cells are local dates; their Y-M-D is compared with Shanghai's days (any browser zone). */
function localDay(date) {
  const pad = (n) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

/** A day the picker does not offer: before the 14 days the feeds keep, or after today. */
export function outsidePeriod(date) {
  const day = localDay(date)
  return day < shanghaiDate(1 - PERIOD_DAYS) || day > shanghaiDate(0)
}

/** `YYYY-MM-DDTHH:mm` → a local Date showing the same wall-clock time (the picker's shortcuts). */
function wallClock(value) {
  const [d, t] = value.split('T')
  const [y, m, day] = d.split('-').map(Number)
  const [hh, mm] = t.split(':').map(Number)
  return new Date(y, m - 1, day, hh, mm)
}

export const PERIOD_SHORTCUTS = [
  { text: '今天', value: () => defaultPeriod().map(wallClock) },
  { text: '昨天', value: () => defaultPeriod(-1, -1).map(wallClock) },
  { text: '近3天', value: () => defaultPeriod(-2).map(wallClock) },
  { text: '近7天', value: () => defaultPeriod(-6).map(wallClock) },
  { text: '近14天', value: () => defaultPeriod(1 - PERIOD_DAYS).map(wallClock) },
]

/** `YYYY-MM-DDTHH:mm` → `YYYY-MM-DD HH:mm`. */
export function periodTime(value) {
  return value ? String(value).replace('T', ' ').slice(0, 16) : ''
}

export function periodText(start, end) {
  return start && end ? `${periodTime(start)} 至 ${periodTime(end)}` : ''
}

/** The clickable numbers of 核酸检测情况 (NatRow keys = `measure` of /api/stats/nat/people). */
export const NAT_MEASURES = [
  { key: 'people', label: '人员数量' },
  { key: 'untested', label: '未核酸检测人数' },
  { key: 'samples', label: '核酸检测人次' },
  { key: 'tested', label: '核酸检测人数' },
  { key: 'coverage', label: '覆盖率', rate: true },
  { key: 'positive', label: '阳性人数' },
  { key: 'pending', label: '未出结果人数' },
  { key: 'negative', label: '阴性人数' },
]

export const DOSES = [
  { dose: 1, label: '第一针' },
  { dose: 2, label: '第二针' },
  { dose: 3, label: '第三针' },
]

/** 疫苗接种情况: measure → label (第一针可接种人数 …, the seed's names). */
export function vaccineMeasureLabel(measure) {
  if (measure === 'enterprises') return '主体数量'
  if (measure === 'staff') return '工作人员数量'
  const m = /^dose(\d)_(eligible|vaccinated)$/.exec(measure || '')
  if (!m) return measure
  const dose = DOSES.find((d) => d.dose === Number(m[1]))?.label || `第${m[1]}针`
  return `${dose}${m[2] === 'eligible' ? '可接种人数' : '接种人数'}`
}

export function natMeasureLabel(measure) {
  return NAT_MEASURES.find((m) => m.key === measure)?.label || measure
}

/** A definition the API gives ("核酸检测：系统根据…") split into its term and its text, for a bold term. */
export function splitDefinition(text) {
  const s = String(text || '')
  const i = s.indexOf('：')
  return i > 0 && i <= 16 ? { term: s.slice(0, i + 1), text: s.slice(i + 1) } : { term: '', text: s }
}

export const ALL_CATEGORIES = 'all'
const WIDE_ROLES = ['admin', 'taskforce']

/**
 * The category of a 数据统计 page (its route's `:category`) and the select above the table: admin and the
 * task force also have 全部类别 (`all`), the others the categories of their 哨点人员 menu.
 */
export function useStatsCategory(kind) {
  const route = useRoute()
  const router = useRouter()
  const category = computed(() => String(route.params.category || ''))
  const wide = computed(() => WIDE_ROLES.includes(session.user?.role))
  const options = computed(() => {
    const cats = (session.ledgerCategories || []).map((c) => ({ code: c.code, name: c.name }))
    return wide.value ? [{ code: ALL_CATEGORIES, name: '全部类别' }, ...cats] : cats
  })
  const ledgerPath = computed(() =>
    category.value && category.value !== ALL_CATEGORIES ? `/ledger/${encodeURIComponent(category.value)}` : '',
  )
  const ledgerLabel = computed(() => {
    const c = (session.ledgerCategories || []).find((x) => x.code === category.value)
    return c ? `返回${c.name}哨点人员` : '返回哨点人员'
  })
  function change(code) {
    if (code && code !== category.value) router.push(`/stats/${kind}/${encodeURIComponent(code)}`)
  }
  return { category, options, wide, change, ledgerPath, ledgerLabel, load: () => loadLedgerCategories() }
}
