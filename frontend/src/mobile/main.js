import { createApp } from 'vue'
import * as vantComponents from './vant.js'
import 'vant/lib/index.css'
import './style.css'

import App from './App.vue'
import { router } from './router.js'
import { api } from './api.js'

api.onUnauthorized = () => {
  if (!router.currentRoute.value.meta.public) router.replace('/login')
}

const app = createApp(App)
for (const c of Object.values(vantComponents)) app.use(c)
app.use(router).mount('#app')
