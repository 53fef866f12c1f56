import { createRouter, createWebHashHistory } from 'vue-router'
import { api } from './api.js'
import Login from './views/Login.vue'
import Home from './views/Home.vue'
import Staff from './views/Staff.vue'

const routes = [
  { path: '/login', component: Login, meta: { public: true } },
  { path: '/', component: Home },
  { path: '/staff', component: Staff },
  { path: '/:pathMatch(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!api.getToken()) return { path: '/login' }
  return true
})
