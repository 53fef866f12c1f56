// What both statistics pages (NatStats.vue, VaccineStats.vue) do alike: the category, loading the table
// (the latest answer wins), its labels and definitions, reloading when the category changes, looking again
// while the page is open, and the drill-down dialog's state.
import { computed, onBeforeUnmount, onMounted, ref, watch } from 'vue'
import { api } from '../api.js'
import { session } from '../auth.js'
import { formatTimeSeconds } from '@/shared/format.js'
import { splitDefinition, useStatsCategory } from './stats.js'

const REFRESH_MS = 30_000

/** kind: 'nat' | 'vaccine'; query(): the table's query besides `category` (the NAT period). */
export function useStatsTable(kind, query = () => ({})) {
  const picker = useStatsCategory(kind)
  const { category, options } = picker
  const data = ref(null)
  const loading = ref(false)
  let seq = 0

  const outOfScope = computed(() => {
    const cats = session.ledgerCategories
    if (!Array.isArray(cats) || !cats.length) return false
    return !options.value.some((c) => c.code === category.value)
  })
  const categoryLabel = computed(
    () => data.value?.category_name || options.value.find((c) => c.code === category.value)?.name || '',
  )
  const townRows = computed(() => data.value?.rows || [])
  const definitions = computed(() => (data.value?.definitions || []).map(splitDefinition))
  const asOfText = computed(() => (data.value?.as_of ? formatTimeSeconds(data.value.as_of) : '暂无数据'))

  async function load() {
    if (outOfScope.value || !category.value) return
    const mine = ++seq
    loading.value = true
    try {
      const res = await api.get(`/api/stats/${kind}`, { category: category.value, ...query() })
      if (mine === seq) data.value = res
    } catch {
      if (mine === seq) data.value = null
    } finally {
      if (mine === seq) loading.value = false
    }
  }

  // The tables come from a read model rebuilt seconds after each write (docs/architecture.md, "Statistics"),
  // and 统计时间 is the time of the newest data they show: look again every half minute while the page is in
  // view, and at once when it comes back into view, and take the answer when it differs — so a
  // registration elsewhere changes the numbers and their time without a reload. Nothing flickers otherwise.
  async function refresh() {
    if (document.hidden || loading.value || !data.value || outOfScope.value || !category.value) return
    const mine = seq // a load the user asked for meanwhile wins
    try {
      const res = await api.get(`/api/stats/${kind}`, { category: category.value, ...query() }, { silent: true })
      // taken when anything moved: two rebuilds within one second share 统计时间 (it has seconds only)
      if (mine === seq && res?.as_of && JSON.stringify(res) !== JSON.stringify(data.value)) data.value = res
    } catch {
      // the next look will tell
    }
  }
  let timer = null
  const onVisible = () => {
    if (!document.hidden) refresh()
  }
  onMounted(() => {
    timer = setInterval(refresh, REFRESH_MS)
    document.addEventListener('visibilitychange', onVisible)
    window.addEventListener('focus', onVisible)
  })
  onBeforeUnmount(() => {
    clearInterval(timer)
    document.removeEventListener('visibilitychange', onVisible)
    window.removeEventListener('focus', onVisible)
  })

  // 点击数字: the people behind one number (refs at the top level, so templates unwrap them)
  const peopleVisible = ref(false)
  const peopleQuery = ref({})
  const peopleTitle = ref('')
  const peopleScope = ref('')
  const peopleNote = ref('')
  function showPeople(query, title, scope, note = '') {
    peopleQuery.value = { category: category.value, ...query }
    peopleTitle.value = title
    peopleScope.value = `${categoryLabel.value ? `${categoryLabel.value} | ` : ''}${scope}`
    peopleNote.value = note
    peopleVisible.value = true
  }

  watch(category, () => {
    data.value = null
    load()
  })
  onMounted(async () => {
    await picker.load()
    load()
  })

  return {
    ...picker, data, loading, load, refresh, outOfScope, categoryLabel, townRows, definitions, asOfText,
    peopleVisible, peopleQuery, peopleTitle, peopleScope, peopleNote, showPeople,
  }
}
