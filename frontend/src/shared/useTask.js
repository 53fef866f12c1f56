import { ref } from 'vue'

/**
 * A button's action with a spinner: `busy` is true while `task` runs. A failure has already been shown to the
 * user by the api wrapper (http.js) and is swallowed here.
 *
 *   const { busy: exporting, run: exportAll } = useTask(() => api.download(...))
 */
export function useTask(task) {
  const busy = ref(false)
  async function run(...args) {
    busy.value = true
    try {
      return await task(...args)
    } catch {
      // shown
    } finally {
      busy.value = false
    }
  }
  return { busy, run }
}
