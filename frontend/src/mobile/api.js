import { showToast } from 'vant'
import { createApi } from '@/shared/http.js'

export const TOKEN_KEY = 'sentinel.m.token'
export const PHONE_KEY = 'sentinel.m.phone'

// onUnauthorized is wired to the router in main.js.
export const api = createApi({
  tokenKey: TOKEN_KEY,
  notify: (message) => showToast({ message, wordBreak: 'break-word' }),
})
