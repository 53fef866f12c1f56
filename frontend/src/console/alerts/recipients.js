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
