// The 粤政易 recipients edited by 告警设置 (高级推送人员, each optionally limited to a town) and by 专班推送人员
// (哨点监测专班, no town): what RecipientsEditor.vue shows, without UI.

/** How many people one list may hold (the server refuses more). */
export const MAX_RECIPIENTS = 50

let lastKey = 0

/** A recipient as a form row: a key of its own for v-for (rows are added and removed), strings never null. */
export function withKey(r = {}) {
  return { _key: ++lastKey, user_id: r.user_id || '', name: r.name || '', town: r.town || '' }
}

/** The rows for a request body: trimmed; `town` only where the list has one. */
export function recipientsPayload(rows, { withTown = true } = {}) {
  return rows.map((r) => {
    const out = { user_id: r.user_id.trim(), name: r.name.trim() }
    if (withTown) out.town = r.town || ''
    return out
  })
}

/**
 * The server's field errors without the recipients' ones: they name rows by position
 * (recipients[2].user_id), so after a row is removed they would point at the wrong one.
 */
export function withoutRecipientErrors(errors) {
  const kept = {}
  for (const [k, v] of Object.entries(errors)) if (!k.startsWith('recipients')) kept[k] = v
  return kept
}

/**
 * The lists of recipients kept apart from any category (RecipientListDialog.vue): 哨点监测专班's, who get
 * the daily summary, and 运维's own, who get the lists no 高级推送人员 receives.
 */
export const RECIPIENT_LISTS = {
  taskforce: {
    url: '/api/alerts/taskforce',
    title: '专班推送人员 - 哨点监测专班',
    label: '专班推送人员',
    readonly: '专班推送人员由系统运维维护，您可以查看。',
    help:
      '每天上午 9 点，系统通过粤政易向下列人员推送哨点监测专班每日统计（各类别的总人数和未按规定检测人数）；' +
      '当日检查未完成或核酸数据未按时更新时，改为推送暂缓推送通知。',
  },
  ops: {
    url: '/api/alerts/ops-recipients',
    title: '运维接收人',
    label: '运维接收人',
    readonly: '运维接收人由系统运维维护，您可以查看。',
    help:
      '某类别或某镇街没有高级推送人员时，其未按规定检测人员名单（推送记录中标为“未推送（无接收人）”）' +
      '每天上午 9 点改为推送给下列运维人员，由运维跟进并在告警设置中补充高级推送人员。',
  },
}

/**
 * The towns whose lists nobody of `rows` receives (a recipient without 限定镇街 takes every town): what
 * 告警设置 warns about before saving, the server's `uncovered_towns` once saved.
 */
export function uncoveredTowns(rows, towns) {
  const filled = rows.filter((r) => (r.user_id || '').trim())
  if (filled.some((r) => !r.town)) return []
  const covered = new Set(filled.map((r) => r.town))
  return towns.filter((t) => !covered.has(t))
}
