import { nextTick, reactive, ref, unref } from 'vue'

/** The server's field errors (the `fields` of an error answer), by field key. */
export function useServerErrors() {
  const errors = ref({})
  const err = (key) => errors.value[key] || ''
  // e.g. an error goes away as soon as its field is changed
  function clearError(key) {
    if (!errors.value[key]) return
    const e = { ...errors.value }
    delete e[key]
    errors.value = e
  }
  return { errors, err, clearError }
}

/** The values of a category's extra fields for a request body: strings trimmed, missing ones ''. */
export function extraPayload(fields, extra) {
  const out = {}
  for (const f of fields) {
    const v = extra[f.key]
    out[f.key] = typeof v === 'string' ? v.trim() : v ?? ''
  }
  return out
}

/** Drop the extra values the newly chosen category / enterprise does not have. */
export function pruneExtra(extra, fields) {
  const keys = new Set(fields.map((f) => f.key))
  for (const k of Object.keys(extra)) if (!keys.has(k)) delete extra[k]
}

/**
 * A blank form (string fields, an `extra` object, list fields such as 告警设置's recipients) filled from a
 * record: missing strings become '', a missing list [] (a list is copied, its items are the record's).
 */
function formFrom(blank, record) {
  const out = { ...blank }
  for (const key of Object.keys(blank)) {
    if (key === 'extra') out[key] = { ...(record.extra || {}) }
    else if (Array.isArray(blank[key])) out[key] = Array.isArray(record[key]) ? [...record[key]] : []
    else out[key] = record[key] || ''
  }
  return out
}

/**
 * Loading, saving and the error handling of a form that creates or edits one record; the UI library is
 * left to the caller.
 *
 * o.blank()        – a blank form (strings, `extra: {}`, lists `[]`)
 * o.versionKey     – the record's optimistic-lock field (kept in `version`, to send back when saving)
 * o.isEdit         – ref: editing (else creating)
 * o.fetch()        – GET the record being edited
 * o.save()         – PUT / POST the form; answers the saved record
 * o.staleMessage   – the text asking to reload after a 409 STALE
 * o.onError(e)     – optional, gets a failed save first (not STALE); answers true when it handled it
 * o.onFieldErrors(e) – optional, after the field errors of a failed save are shown
 * UI: o.validate() → bool, o.close(), o.onSaved(saved?), o.success(message), o.confirmStale(message) → promise
 *     (rejects on cancel), o.afterLoad() and o.afterOpen() (optional)
 */
export function useRecordForm(o) {
  const form = reactive(o.blank())
  const version = ref(null)
  const saving = ref(false)
  const loadingRecord = ref(false)
  const { errors, err, clearError } = useServerErrors()

  function fill(record) {
    Object.assign(form, formFrom(o.blank(), record))
    version.value = record[o.versionKey] ?? null
  }

  async function loadRecord() {
    loadingRecord.value = true
    try {
      fill(await o.fetch())
      await o.afterLoad?.()
    } catch {
      o.close()
    } finally {
      loadingRecord.value = false
    }
  }

  /** Start afresh when the form opens: load the record, or let `setDefaults` preset a new one. */
  function open(setDefaults) {
    errors.value = {}
    fill({})
    if (unref(o.isEdit)) loadRecord()
    else setDefaults?.()
    o.afterOpen?.()
  }

  async function reloadStale() {
    try {
      await o.confirmStale(o.staleMessage)
      await loadRecord()
      o.onSaved()
    } catch {
      // keep the form as it is
    }
  }

  async function submit() {
    errors.value = {}
    if (!(await o.validate())) return
    saving.value = true
    try {
      const saved = await o.save()
      o.success(unref(o.isEdit) ? '保存成功' : '新增成功')
      o.onSaved(saved)
      o.close()
    } catch (e) {
      if (e.code === 'STALE') {
        reloadStale()
      } else if (o.onError?.(e)) {
        // handled
      } else if (e.fields) {
        await nextTick()
        errors.value = { ...e.fields }
        o.onFieldErrors?.(e)
      }
    } finally {
      saving.value = false
    }
  }

  return { form, version, errors, err, clearError, saving, loadingRecord, fill, loadRecord, open, submit }
}
