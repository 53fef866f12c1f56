import { reactive, ref } from 'vue'

function trimQuery(filters) {
  const applied = { ...filters }
  if (typeof applied.q === 'string') applied.q = applied.q.trim()
  return applied
}

/**
 * One page of a server list (answers `{ items, total }`) with its filters, for both apps.
 *
 * fetchPage(params) – params are `{ page, page_size, ...applied }`
 * options:
 *   filters           – the filter fields with their reset values: the form binds `filters`, requests use
 *                       `applied` (what the last `search()` took over)
 *   normalize(filters) – what `search()` applies (default: the filters, `q` trimmed)
 *   pageSize          – the first page size (20)
 *   enabled()         – when it answers false, `load()` does nothing
 *   onLoaded(res)     – called after a page arrived (rows and total are set)
 *   clearTotalOnError – a failed load also sets total to 0 (rows are always emptied)
 *
 * A page past the end (rows deleted meanwhile) loads the last page instead; an answer overtaken by a later
 * load is dropped. `notice` is what the server said above the list (a search that reached its bound).
 */
export function usePagedList(fetchPage, options = {}) {
  const initial = options.filters || {}
  const normalize = options.normalize || trimQuery
  const filters = reactive({ ...initial })
  const applied = reactive({ ...initial })
  const rows = ref([])
  const total = ref(0)
  const page = ref(1)
  const pageSize = ref(options.pageSize ?? 20)
  const loading = ref(false)
  const notice = ref('')
  let seq = 0

  async function load() {
    if (options.enabled && !options.enabled()) return
    const mine = ++seq
    loading.value = true
    try {
      const res = await fetchPage({ page: page.value, page_size: pageSize.value, ...applied })
      if (mine !== seq) return
      rows.value = res.items || []
      total.value = res.total || 0
      notice.value = res.notice || ''
      options.onLoaded?.(res)
      if (!rows.value.length && page.value > 1 && total.value > 0) {
        page.value = Math.max(1, Math.ceil(total.value / pageSize.value))
        return load()
      }
    } catch {
      if (mine === seq) {
        rows.value = []
        notice.value = ''
        if (options.clearTotalOnError) total.value = 0
      }
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  /** Back to page 1 (after a filter or the page size changed). */
  function firstPage() {
    page.value = 1
    return load()
  }

  /** Apply the filters form and show the first page. */
  function search() {
    Object.assign(applied, normalize(filters))
    return firstPage()
  }

  /** Empty the filters form and search. */
  function reset() {
    Object.assign(filters, initial)
    return search()
  }

  return { filters, applied, rows, total, page, pageSize, loading, notice, load, firstPage, search, reset }
}
