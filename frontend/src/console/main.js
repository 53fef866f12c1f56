import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import 'element-plus/dist/index.css'
import './style.css'

import App from './App.vue'
import { router } from './router.js'
import { api } from './api.js'
import { session } from './auth.js'

api.onUnauthorized = () => {
  session.user = null
  const current = router.currentRoute.value
  if (!current.meta.public) router.replace('/login')
}

createApp(App).use(ElementPlus, { locale: zhCn }).use(router).mount('#app')
