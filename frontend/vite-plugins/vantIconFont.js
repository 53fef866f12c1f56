// Vant's icon font from our own origin. Vant's stylesheet declares the font as an inline woff2 and, as a fallback,
// a woff on at.alicdn.com; Chromium checks every source of an @font-face against the page's Content-Security-Policy
// (font-src 'self' data:, local/server.py and infra/hosting.json) and logs a CSP error for the other site on every
// /m/ page, even though it never needs the fallback. This plugin takes the woff2 out of vant's stylesheet as it is
// bundled, writes it as a file beside the stylesheet Vite reads it from, and points the @font-face at that file
// only: the build then emits it under assets/ like any other font, served by our own origin.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

const FONT_FACE_SRC =
  /src:\s*url\(\s*["']?data:font\/woff2;charset=utf-8;base64,([A-Za-z0-9+/=]+)["']?\s*\)\s*format\(["']?woff2["']?\)\s*,\s*url\([^)]*alicdn[^)]*\)\s*format\(["']?woff["']?\)/

export function vantIconFont({ cacheDir }) {
  return {
    name: 'vant-icon-font',
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0]
      if (!file.endsWith('.css') || !/[\\/]vant[\\/]/.test(file) || !code.includes('alicdn')) return null
      const found = FONT_FACE_SRC.exec(code)
      if (!found) this.error(`vant-icon-font: the icon font's @font-face in ${file} has changed; update the plugin`)
      const font = join(cacheDir, 'vant-icon.woff2')
      mkdirSync(cacheDir, { recursive: true })
      writeFileSync(font, Buffer.from(found[1], 'base64'))
      const url = relative(dirname(file), font).split('\\').join('/')
      return { code: code.replace(found[0], `src:url("${url}") format("woff2")`), map: null }
    },
  }
}
