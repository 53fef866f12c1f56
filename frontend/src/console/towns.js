import { session } from './auth.js'

// The districts and towns a page offers (GET /api/lists: towns, districts [{name, towns}], area; GET /api/me:
// the caller's district and the towns it reaches). A one-district deployment (the default) has one district:
// its pickers stay flat lists and everything is called 全区; several districts group the towns and say 全市.

/** Whether the deployment serves more than one district (账号管理 then asks an official's 所属区). */
export function severalDistricts() {
  return (session.lists?.districts?.length || 0) > 1
}

/** What everything is called: 全区 for one district, 全市 for several (the server's `area`). */
export function areaName() {
  return session.lists?.area || '全区'
}

/** The towns the caller may pick: /api/me's `towns` (a 区 official's district's, a 镇街's own), else every town. */
export function reachableTowns() {
  const mine = session.user?.towns
  return Array.isArray(mine) ? mine : session.lists?.towns || []
}

/** The district a town belongs to ('' if none served names it). */
export function districtOf(town) {
  return (session.lists?.districts || []).find((d) => d.towns.includes(town))?.name || ''
}

/**
 * `towns` grouped by district, districts in the server's order: [{ name, towns }] — or null when they all
 * lie in one district, so the picker stays a flat list.
 */
export function townGroups(towns) {
  const districts = session.lists?.districts || []
  const wanted = new Set(towns)
  const groups = districts
    .map((d) => ({ name: d.name, towns: d.towns.filter((t) => wanted.has(t)) }))
    .filter((g) => g.towns.length)
  const known = new Set(groups.flatMap((g) => g.towns))
  const rest = towns.filter((t) => !known.has(t))
  if (rest.length) groups.push({ name: '其他', towns: rest })
  return groups.length > 1 ? groups : null
}
