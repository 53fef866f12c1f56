// Import an .xlsx and follow the import job (GET /api/imports/{id}) until it is done or failed; used by
// console/components/ImportDialog.vue and mobile/components/StaffImport.vue. Two steps: the import route
// answers a job waiting for its file and a presigned form, and the file goes straight to the files bucket
// with it (api.sendToStorage), never through the API; the bucket's event starts the import.
import { computed, onBeforeUnmount, ref, toValue } from 'vue'
import { useTask } from './useTask.js'

// services/jobs/imports.py MAX_BYTES (the form allows no more; the server refuses a larger declared size)
export const IMPORT_MAX_MB = 100
export const IMPORT_MAX_BYTES = IMPORT_MAX_MB * 1024 * 1024
const STATUS_LABELS = { queued: '排队中', running: '导入中', done: '已完成', failed: '失败' }

/**
 * o: { api, uploadUrl, templateUrl, templateName, pollMs } (values or getters),
 *    onPicked() – optional, a file was chosen (before it is checked),
 *    onFinished(job) – the job is done or failed,
 *    error(message) – a refused file, warning(message) / success(message) – the job is done
 * Bind `fileInput` as the ref of the hidden <input type="file"> and its change event to `onFileChange`.
 */
export function useImportJob(o) {
  const fileInput = ref()
  const fileName = ref('')
  const job = ref(null)
  const uploading = ref(false)
  const uploadPercent = ref(0) // of the file sent to the bucket so far
  // the upload itself was refused (not an .xlsx, too large, unreadable): shown where a job's error would be
  const uploadError = ref('')
  let timer = null
  let alive = true

  const finished = computed(() => job.value && (job.value.status === 'done' || job.value.status === 'failed'))
  const busy = computed(() => uploading.value || (!!job.value && !finished.value))
  const statusLabel = computed(() =>
    uploading.value
      ? '上传中'
      : job.value?.status_label || STATUS_LABELS[job.value?.status] || job.value?.status || '',
  )

  const { busy: downloading, run: downloadTemplate } = useTask(() =>
    o.api.download(toValue(o.templateUrl), { fallbackName: toValue(o.templateName) }),
  )
  const { busy: downloadingFailures, run: downloadFailures } = useTask(() =>
    o.api.download(`/api/imports/${encodeURIComponent(job.value.id)}/failures`, {
      fallbackName: '导入失败数据.xlsx',
    }),
  )

  function pickFile() {
    fileInput.value.value = ''
    fileInput.value.click()
  }

  async function onFileChange(e) {
    const file = e.target.files && e.target.files[0]
    if (!file) return
    o.onPicked?.()
    if (!/\.xlsx$/i.test(file.name)) {
      o.error('请选择 .xlsx 格式的 Excel 文件')
      return
    }
    if (file.size > IMPORT_MAX_BYTES) {
      o.error(`文件不能超过 ${IMPORT_MAX_MB}MB，请拆分后分批导入`)
      return
    }
    clearTimeout(timer)
    fileName.value = file.name
    job.value = null
    uploadError.value = ''
    uploading.value = true
    uploadPercent.value = 0
    try {
      const { upload, ...started } = await o.api.post(toValue(o.uploadUrl), { filename: file.name, size: file.size })
      job.value = started
      await o.api.sendToStorage(upload, file, {
        onProgress: (loaded, total) => (uploadPercent.value = Math.min(100, Math.floor((loaded * 100) / total))),
      })
      uploading.value = false
      schedulePoll()
    } catch (err) {
      // refused before or while sending: the job (if one was made) ends failed on the server when its
      // upload time has passed; this page says why now
      job.value = null
      uploadError.value = err.message || '上传失败'
    } finally {
      uploading.value = false
      if (fileInput.value) fileInput.value.value = ''
    }
  }

  function schedulePoll() {
    clearTimeout(timer)
    if (!alive) return
    timer = setTimeout(poll, toValue(o.pollMs))
  }

  async function poll() {
    if (!job.value || !alive) return
    try {
      job.value = await o.api.get(`/api/imports/${encodeURIComponent(job.value.id)}`)
    } catch (err) {
      if (err.status === 401 || err.status === 403 || err.status === 404) return
      // a transient failure: try again
    }
    if (finished.value) onFinished()
    else schedulePoll()
  }

  function onFinished() {
    o.onFinished?.(job.value)
    if (job.value.status === 'done') {
      if (job.value.failed) o.warning(`导入完成，${job.value.failed} 条失败`)
      else o.success('导入完成')
    }
  }

  onBeforeUnmount(() => {
    alive = false
    clearTimeout(timer)
  })

  return {
    fileInput,
    fileName,
    job,
    uploadError,
    uploading,
    uploadPercent,
    finished,
    busy,
    statusLabel,
    pickFile,
    onFileChange,
    downloading,
    downloadTemplate,
    downloadingFailures,
    downloadFailures,
  }
}
