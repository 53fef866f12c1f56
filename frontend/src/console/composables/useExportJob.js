// A download built in the background (an export job, chalicelib/services/jobs/exports.py): the button's
// state says how far it is (排队中… / 正在生成…), the file is fetched from its link when done, and the
// count is confirmed. Shared by the ledger's 导出 and the people dialogs' 下载.
import { ref } from 'vue'
import { ElMessage } from 'element-plus'
import { api } from '../api.js'
import { useTask } from '@/shared/useTask.js'

/** request() → { url, query?, body? } at the moment of the click; fallbackRows() if the job gives no count. */
export function useExportJob(request, fallbackRows = () => 0) {
  const state = ref('')
  const { busy, run } = useTask(async () => {
    const { url, ...options } = request()
    try {
      const job = await api.exportJob(url, {
        ...options,
        onProgress: (j) => (state.value = j.status === 'running' ? '正在生成…' : '排队中…'),
      })
      ElMessage.success(`已导出 ${job.rows ?? fallbackRows()} 条记录`)
    } finally {
      state.value = ''
    }
  })
  return { state, busy, run }
}
