import { createRouter, createWebHashHistory } from 'vue-router'
import { api } from './api.js'
import { session, loadMe, homeFor, STAFF_ROLES, PUSH_ROLES } from './auth.js'

import Login from './views/Login.vue'
import Layout from './views/Layout.vue'
import Enterprises from './views/Enterprises.vue'
import MyEnterprises from './views/MyEnterprises.vue'
import Accounts from './views/Accounts.vue'
import Audit from './views/Audit.vue'
import DevSms from './views/DevSms.vue'
import Staff from './views/Staff.vue'
import Ledger from './views/Ledger.vue'
import Feeds from './views/Feeds.vue'
import AlertRuns from './views/AlertRuns.vue'
import AlertPushes from './views/AlertPushes.vue'
// 数据统计 with its charts (ECharts) in a chunk of its own, loaded when first opened
const NatStats = () => import('./views/NatStats.vue')
const VaccineStats = () => import('./views/VaccineStats.vue')

const routes = [
  { path: '/login', component: Login, meta: { public: true, title: '登录' } },
  { path: '/dev/sms', component: DevSms, meta: { public: true, title: '开发短信收件箱' } },
  {
    path: '/',
    component: Layout,
    children: [
      { path: '', name: 'home', component: { render: () => null } },
      { path: 'enterprises', component: Enterprises, meta: { roles: STAFF_ROLES, title: '企业信息采集' } },
      { path: 'my-enterprises', component: MyEnterprises, meta: { roles: ['head'], title: '我的企业' } },
      { path: 'staff', component: Staff, meta: { roles: ['head'], title: '员工管理' } },
      { path: 'ledger/:category', component: Ledger, meta: { roles: STAFF_ROLES, title: '哨点人员' } },
      // 数据统计 (seed §2.4.1), from the ledger's 【核酸数据统计】 / 【疫苗数据统计】; :category may be `all`
      { path: 'stats/nat/:category', component: NatStats, meta: { roles: STAFF_ROLES, title: '核酸数据统计' } },
      { path: 'stats/vaccine/:category', component: VaccineStats, meta: { roles: STAFF_ROLES, title: '疫苗数据统计' } },
      // 告警记录 / 推送记录 (§2.6): the overnight check's lists and the 09:00 粤政易 push
      { path: 'alerts/runs', component: AlertRuns, meta: { roles: STAFF_ROLES, title: '告警记录' } },
      { path: 'alerts/pushes', component: AlertPushes, meta: { roles: PUSH_ROLES, title: '推送记录' } },
      { path: 'feeds', component: Feeds, meta: { roles: ['admin'], title: '数据接入' } },
      { path: 'accounts', component: Accounts, meta: { roles: ['admin'], title: '账号管理' } },
      { path: 'audit', component: Audit, meta: { roles: ['admin'], title: '操作日志' } },
    ],
  },
  { path: '/:pathMatch(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  if (!api.getToken()) return { path: '/login' }
  if (!session.user) {
    try {
      await loadMe()
    } catch {
      api.setToken(null)
      return { path: '/login' }
    }
  }
  const role = session.user.role
  if (to.name === 'home') return { path: homeFor(role) }
  if (to.meta.roles && !to.meta.roles.includes(role)) return { path: homeFor(role) }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} - 数据台账管理系统` : '数据台账管理系统'
})
