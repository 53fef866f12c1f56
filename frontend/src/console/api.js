import { ElMessage } from 'element-plus'
import { createApi } from '@/shared/http.js'

export const TOKEN_KEY = 'sentinel.token'

// onUnauthorized is wired to the router in main.js.
export const api = createApi({
  tokenKey: TOKEN_KEY,
  notify: (message) => ElMessage.error({ message, grouping: true }),
})
