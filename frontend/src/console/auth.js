import { reactive } from 'vue'
import { api } from './api.js'

// Session-wide state: the logged-in user and the lists (towns, categories, roles…).
// ledgerCategories: the 哨点人员 menu (GET /api/ledger/categories), null until loaded, [] when unavailable.
export const session = reactive({ user: null, lists: null, ledgerCategories: null })

export const STAFF_ROLES = ['admin', 'bureau', 'town', 'taskforce']
export const EDIT_ROLES = ['admin', 'bureau', 'town']
// 推送记录: 运维, 专班 (everything), a bureau (its categories' lists and what was sent to it) and a 镇街 (the
// messages sent to its own 粤政易 account)
export const PUSH_ROLES = ['admin', 'bureau', 'town', 'taskforce']

export async function loadMe() {
  session.user = await api.get('/api/me', null, { silent: true })
  return session.user
}

export async function loadLists(force = false) {
  if (!session.lists || force) {
    session.lists = await api.get('/api/lists')
  }
  return session.lists
}

/** The caller's 哨点人员 categories; [] (menu hidden) when the route answers nothing usable. */
export async function loadLedgerCategories(force = false) {
  if (session.ledgerCategories && !force) return session.ledgerCategories
  try {
    const res = await api.get('/api/ledger/categories', null, { silent: true })
    const list = Array.isArray(res) ? res : res?.items || res?.categories || []
    session.ledgerCategories = list.filter((c) => c && c.code)
  } catch {
    session.ledgerCategories = []
  }
  return session.ledgerCategories
}

export function clearSession() {
  session.user = null
  session.lists = null
  session.ledgerCategories = null
  api.setToken(null)
}

export function homeFor(role) {
  if (role === 'head') return '/my-enterprises'
  return '/enterprises'
}

export function categoryName(code) {
  const c = session.lists?.categories?.find((x) => x.code === code)
  return c ? c.name : code
}

export function roleLabel(code) {
  const r = session.lists?.roles?.find((x) => x.code === code)
  return r ? r.label : code
}
