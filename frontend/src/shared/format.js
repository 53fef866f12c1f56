// Display helpers shared by both apps.

const partsFormatter = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

/** ISO-8601 (with offset) → "YYYY-MM-DD HH:mm" in Asia/Shanghai. */
export function formatTime(value) {
  if (!value) return ''
  const d = new Date(value)
  if (Number.isNaN(d.getTime())) return String(value)
  const p = {}
  for (const { type, value: v } of partsFormatter.formatToParts(d)) p[type] = v
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

/** 13812345678 → 138****5678; anything else unchanged. */
export function maskPhone(value) {
  const s = String(value ?? '')
  return /^1\d{10}$/.test(s) ? `${s.slice(0, 3)}****${s.slice(7)}` : s
}

export const PHONE_RE = /^1[3-9]\d{9}$/
export const PASSWORD_RE = /^(?=.*[A-Za-z])(?=.*\d).{8,}$/
