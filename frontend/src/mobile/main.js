import { createApp } from 'vue'
import { Button, Cell, CellGroup, Empty, Field, Loading, NavBar, Tag } from 'vant'
import 'vant/lib/index.css'
import './style.css'

import App from './App.vue'
import { router } from './router.js'
import { api } from './api.js'

api.onUnauthorized = () => {
  if (!router.currentRoute.value.meta.public) router.replace('/login')
}

const app = createApp(App)
for (const c of [Button, Cell, CellGroup, Empty, Field, Loading, NavBar, Tag]) app.use(c)
app.use(router).mount('#app')
