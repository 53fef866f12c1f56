import { showToast } from 'vant'
import { createApi } from '@/shared/http.js'

export const TOKEN_KEY = 'sentinel.m.token'
// the phone an older version remembered for the login form and the greeting: removed, never written
const LEGACY_PHONE_KEY = 'sentinel.m.phone'

// onUnauthorized is wired to the router in main.js.
export const api = createApi({
  tokenKey: TOKEN_KEY,
  personalKeys: [LEGACY_PHONE_KEY],
  notify: (message) => showToast({ message, wordBreak: 'break-word' }),
})
