import { createRouter, createWebHashHistory } from 'vue-router'
import { api } from './api.js'
import Login from './views/Login.vue'
import Home from './views/Home.vue'
import Staff from './views/Staff.vue'
import Bucket from './views/Bucket.vue'
import Person from './views/Person.vue'

const routes = [
  { path: '/login', component: Login, meta: { public: true } },
  { path: '/', component: Home },
  { path: '/staff', component: Staff },
  // 核酸检测情况: the people of one bucket (h24 / h48 / h72 / over72 / unmatched), one person's records
  { path: '/bucket/:key', name: 'bucket', component: Bucket },
  { path: '/person/:id', name: 'person', component: Person },
  { path: '/:pathMatch(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHashHistory(), routes })

router.beforeEach((to) => {
  if (to.meta.public) return true
  if (!api.getToken()) return { path: '/login' }
  return true
})
