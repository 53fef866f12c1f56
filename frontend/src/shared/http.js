// Shared fetch wrapper used by the console and the mobile app.
// Each app creates its own instance with its own token key and its own way
// of showing errors (ElMessage / showToast) and of going back to login.

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const STATUS_MESSAGES = {
  400: '请求参数有误',
  401: '登录已失效，请重新登录',
  403: '没有权限执行此操作',
  404: '请求的数据不存在',
  409: '数据冲突，请刷新后重试',
  413: '上传文件过大',
  429: '操作过于频繁，请稍后再试',
}

export class ApiError extends Error {
  constructor(status, data) {
    const msg =
      (data && data.message) ||
      STATUS_MESSAGES[status] ||
      (status >= 500 ? '服务器繁忙，请稍后重试' : `请求失败（${status}）`)
    super(msg)
    this.status = status
    this.code = (data && data.code) || null
    this.fields = (data && data.fields) || null
    this.data = data || {}
  }
}

export function filenameFromDisposition(header) {
  if (!header) return null
  const m = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header)
  if (!m) return null
  try {
    return decodeURIComponent(m[2].trim().replace(/^"|"$/g, ''))
  } catch {
    return null
  }
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  setTimeout(() => {
    URL.revokeObjectURL(url)
    a.remove()
  }, 1000)
}

/**
 * Let the browser fetch a short-lived file link (an export, a push's attachment): the server answers it with
 * Content-Disposition: attachment, so the page stays.
 */
export function followLink(url) {
  const a = document.createElement('a')
  a.href = url
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  setTimeout(() => a.remove(), 1000)
}

// What S3 (or the local relay, which answers JSON) said when it refused a form post, for a person.
function storageRefusal(xhr, upload) {
  try {
    const relayed = JSON.parse(xhr.responseText)
    if (relayed && relayed.message) return relayed.message
  } catch {
    // S3's XML
  }
  const code = (/<Code>([^<]+)<\/Code>/.exec(xhr.responseText || '') || [])[1]
  const message = (/<Message>([^<]+)<\/Message>/.exec(xhr.responseText || '') || [])[1] || ''
  if (code === 'EntityTooLarge') {
    return `文件超过 ${Math.floor((upload.max_bytes || 0) / 1048576)} MB，请拆分后分批上传`
  }
  if (code === 'AccessDenied' && /expired/i.test(message)) return '上传有效期已过，请重新选择文件上传'
  return '文件存储未接受此次上传，请重新选择文件上传；如仍失败请联系系统运维人员'
}

function buildUrl(path, query) {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.append(k, v)
  }
  const s = params.toString()
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path
}

// Where the session token is kept: sessionStorage (this tab only, gone when it closes), never localStorage.
// Nothing personal outlives a logout: forgetting the session removes the token and every `personalKeys`
// entry from both storages (older versions kept the token and the head's phone in localStorage).
function storages() {
  const out = []
  for (const name of ['sessionStorage', 'localStorage']) {
    try {
      if (window[name]) out.push(window[name])
    } catch {
      // storage disabled: nothing kept there
    }
  }
  return out
}

function tokenStore() {
  try {
    return window.sessionStorage
  } catch {
    return null
  }
}

/**
 * createApi({ tokenKey, personalKeys, notify(message), onUnauthorized() })
 *
 * tokenKey     – the sessionStorage key of the session token
 * personalKeys – other keys an older version may have left in storage (a phone number): removed at start
 *                and whenever the session is forgotten
 *
 * Request options:
 *   query   – object turned into the query string (empty values dropped)
 *   body    – JSON-encoded unless it is a Blob/File/ArrayBuffer
 *   headers – extra headers
 *   silent  – true: never toast; array of codes: don't toast those codes
 *   noAuthRedirect – a 401 does not clear the token / go to login (login forms)
 */
export function createApi({ tokenKey, personalKeys = [], notify, onUnauthorized }) {
  const api = {
    onUnauthorized: onUnauthorized || (() => {}),
    getToken: () => tokenStore()?.getItem(tokenKey) || null,
    /** Keep the token for this tab; null forgets the session (token and personal keys, both storages). */
    setToken(token) {
      if (token) tokenStore()?.setItem(tokenKey, token)
      else api.forget()
    },
    forget() {
      for (const store of storages()) {
        for (const key of [tokenKey, ...personalKeys]) store.removeItem(key)
      }
    },
  }

  // what an older version left in localStorage: a token still valid moves to this tab, the rest goes
  try {
    const legacy = window.localStorage?.getItem(tokenKey)
    if (legacy && !api.getToken()) tokenStore()?.setItem(tokenKey, legacy)
    for (const key of [tokenKey, ...personalKeys]) window.localStorage?.removeItem(key)
  } catch {
    // storage disabled
  }

  function report(err, opts) {
    if (err instanceof ApiError && err.status === 401 && !opts.noAuthRedirect) {
      api.setToken(null)
      api.onUnauthorized(err)
    }
    const silent = opts.silent
    if (silent === true) return
    if (Array.isArray(silent) && err instanceof ApiError && silent.includes(err.code)) return
    notify(err.message || '操作失败')
  }

  async function send(method, path, opts) {
    const headers = { Accept: 'application/json', ...(opts.headers || {}) }
    const token = api.getToken()
    if (token) headers.Authorization = `Bearer ${token}`
    let body = opts.body
    const binary = body instanceof Blob || body instanceof ArrayBuffer
    if (body !== undefined && !binary) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(body)
    }
    let res
    try {
      res = await fetch(buildUrl(path, opts.query), { method, headers, body })
    } catch {
      throw new ApiError(0, { code: 'NETWORK', message: '网络连接失败，请检查网络后重试' })
    }
    if (!res.ok) {
      let data = null
      try {
        data = await res.json()
      } catch {
        data = null
      }
      throw new ApiError(res.status, data)
    }
    return res
  }

  api.request = async function request(method, path, opts = {}) {
    try {
      const res = await send(method, path, opts)
      const text = await res.text()
      return text ? JSON.parse(text) : null
    } catch (err) {
      report(err, opts)
      throw err
    }
  }

  api.get = (path, query, opts = {}) => api.request('GET', path, { ...opts, query })
  api.post = (path, body, opts = {}) => api.request('POST', path, { ...opts, body: body ?? {} })
  api.put = (path, body, opts = {}) => api.request('PUT', path, { ...opts, body: body ?? {} })

  /** GET a binary file and save it (filename from Content-Disposition filename*, else fallbackName). */
  api.download = async function download(path, { query, fallbackName = '下载文件.xlsx', ...opts } = {}) {
    try {
      const res = await send('GET', path, { ...opts, query, headers: { Accept: `${XLSX_TYPE}, */*` } })
      const blob = await res.blob()
      const name = filenameFromDisposition(res.headers.get('Content-Disposition')) || fallbackName
      saveBlob(blob, name)
      return name
    } catch (err) {
      report(err, opts)
      throw err
    }
  }

  /**
   * A background export (POST → 202 and a job): follow GET /api/exports/{id} until the file is built, then
   * let the browser fetch it from its short-lived link (the server answers it with Content-Disposition:
   * attachment, so the page stays). `onProgress(job)` sees each state; a failed job throws its reason.
   */
  api.exportJob = async function exportJob(path, { query, pollMs = 1000, onProgress, ...opts } = {}) {
    try {
      let job = await api.request('POST', path, { ...opts, query, silent: true })
      const deadline = Date.now() + 20 * 60 * 1000
      while (job.status !== 'done' && job.status !== 'failed') {
        onProgress?.(job)
        if (Date.now() > deadline) throw new ApiError(0, { message: '导出用时过长，请缩小范围后重试' })
        await new Promise((resolve) => setTimeout(resolve, pollMs))
        job = await api.request('GET', `/api/exports/${encodeURIComponent(job.id)}`, { silent: true })
      }
      onProgress?.(job)
      if (job.status === 'failed' || !job.url) throw new ApiError(0, { message: job.message || '导出失败，请稍后重试' })
      followLink(job.url)
      return job
    } catch (err) {
      report(err, opts)
      throw err
    }
  }

  /**
   * An upload's second step: the file straight to the files bucket with the presigned form the upload route
   * answered (`upload`: { url, fields, max_bytes }), never through the API. XMLHttpRequest rather than fetch,
   * for its upload progress: onProgress(loaded, total). S3 answers 204; its refusals are XML, worded here.
   */
  api.sendToStorage = function sendToStorage(upload, file, { onProgress, ...opts } = {}) {
    return new Promise((resolve, reject) => {
      const form = new FormData()
      for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value)
      form.append('file', file) // last: S3 ignores the fields after the file
      const xhr = new XMLHttpRequest()
      xhr.open('POST', upload.url)
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress?.(e.loaded, e.total)
      }
      const fail = (err) => {
        report(err, opts)
        reject(err)
      }
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve()
        else fail(new ApiError(xhr.status, { code: 'STORAGE', message: storageRefusal(xhr, upload) }))
      }
      xhr.onerror = () =>
        fail(new ApiError(0, { code: 'NETWORK', message: '网络连接失败，文件未能上传，请检查网络后重新选择文件' }))
      xhr.send(form)
    })
  }

  return api
}
