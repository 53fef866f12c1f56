import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { vantIconFont } from './vite-plugins/vantIconFont.js'

// Two pages: the console (Element Plus) at /, the mobile app (Vant) at /m/.
export default defineConfig({
  base: '/',
  // the Vant icon font bundled as a file of ours, not fetched from at.alicdn.com (vite-plugins/vantIconFont.js)
  plugins: [vue(), vantIconFont({ cacheDir: fileURLToPath(new URL('./node_modules/.vant-icon-font', import.meta.url)) })],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        console: fileURLToPath(new URL('./index.html', import.meta.url)),
        mobile: fileURLToPath(new URL('./m/index.html', import.meta.url)),
      },
    },
  },
})
