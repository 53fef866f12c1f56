// 告警记录 and 推送记录 (§2.6) without UI: the states' tag colours, the days one may pick, polling while
// something is under way.
import { onBeforeUnmount, ref } from 'vue'
import { shanghaiDate } from '@/shared/format.js'

/** How often a page looks again while a run or a push is under way. */
export const POLL_MS = 3000

/** How far back 运维 may run a day's check again (the feeds keep 14 days of samples). */
export const RUN_DAYS = 14

/** A run (排队中 / 进行中 / 已完成 / 失败) as an el-tag type. */
export function runTagType(status) {
  if (status === 'done') return 'success'
  if (status === 'failed') return 'danger'
  if (status === 'running') return 'primary'
  return 'warning'
}

export const RUN_BUSY = ['queued', 'running']

/**
 * A message (待发送 / 发送中 / 已发送 / 发送失败 / 结果未知 / 未推送（无接收人） / 已被更正取代) as an el-tag
 * type.
 */
export function pushTagType(status) {
  if (status === 'sent') return 'success'
  if (status === 'failed' || status === 'unrouted') return 'danger'
  if (status === 'unknown') return 'warning'
  if (status === 'running') return 'primary'
  return 'info'
}

export const PUSH_BUSY = ['queued', 'running']

/** The picker's cells are local dates; their Y-M-D is compared with Shanghai's days (any browser zone). */
function localDay(date) {
  const pad = (n) => String(n).padStart(2, '0')
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`
}

/**
 * A day 重新运行检查 does not offer: before `earliest` (the server's earliest_rerun: the oldest day whose rule
 * windows the kept data still covers; else the last 14 days), or after today (Asia/Shanghai).
 */
export function outsideRunDays(date, earliest = '') {
  const day = localDay(date)
  return day < (earliest || shanghaiDate(1 - RUN_DAYS)) || day > shanghaiDate(0)
}

/** A day after today (Asia/Shanghai): 推送记录 has nothing there. */
export function afterToday(date) {
  return localDay(date) > shanghaiDate(0)
}

/**
 * Look again every POLL_MS while `active()` answers true: `tick()` reloads, then `poke()` decides on the
 * next look. Call `poke()` after any load; nothing runs after the page is left.
 */
export function usePolling(tick, active, intervalMs = POLL_MS) {
  let timer = null
  let stopped = false
  function stop() {
    if (timer) clearTimeout(timer)
    timer = null
  }
  function poke() {
    stop()
    if (stopped || !active()) return
    timer = setTimeout(async () => {
      timer = null
      try {
        await tick()
      } finally {
        poke()
      }
    }, intervalMs)
  }
  onBeforeUnmount(() => {
    stopped = true
    stop()
  })
  return { poke, stop }
}

/** Whether the window is phone-narrow (the console's 767 px breakpoint), kept up to date. */
export function useNarrow(query = '(max-width: 767px)') {
  const media = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const narrow = ref(!!media?.matches)
  const update = (e) => (narrow.value = e.matches)
  media?.addEventListener?.('change', update)
  onBeforeUnmount(() => media?.removeEventListener?.('change', update))
  return narrow
}
