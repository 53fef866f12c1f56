import { reactive } from 'vue'
import { api } from './api.js'

// Session-wide state: the logged-in user and the lists (towns, categories, roles…).
export const session = reactive({ user: null, lists: null })

export const STAFF_ROLES = ['admin', 'bureau', 'town', 'taskforce']
export const EDIT_ROLES = ['admin', 'bureau', 'town']

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

export function clearSession() {
  session.user = null
  session.lists = null
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
