// fieldstream dashboard: pick an asset, its tags and a range; plot each tag's series
// (min–max band and average from /v1/series), its anomaly score on a second axis
// (/v1/scores), the tags' alerts as red bands (/v1/alerts) and the asset's production as
// bars (/v1/production). Plain ES module, no framework, no build step: the page is three small
// files plus uPlot, and every data kind is one request (one per selected tag for series and
// scores), all in flight at once.
//
// The API key comes from the URL fragment (#key=..., which never reaches a server log) or the
// key box, is kept in sessionStorage for this tab only, and is sent as a Bearer token.

const KEY_STORAGE = 'fieldstream.apiKey'
/** More lines than this stop being readable on one chart. */
const MAX_TAGS = 8
const TAGS_PAGE = 500
/** Guard against an asset with a runaway number of tags filling the picker forever. */
const MAX_TAG_OPTIONS = 5000
const SECONDS = { '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400, '1y': 365 * 86400 }
/** Production bars per hour up to a week, per day beyond. */
const HOURLY_UP_TO = 7 * 86400
const COLORS = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22', '#7f7f7f', '#393b79']
const SCORE_COLORS = ['#e6550d', '#d6616b', '#e7969c', '#fd8d3c', '#a55194', '#ce6dbd', '#843c39', '#ad494a']
const ALERT_FILL = 'rgba(214, 39, 40, 0.16)'
const ALERT_EDGE = 'rgba(214, 39, 40, 0.75)'
const BAR_COLORS = ['#4c78a8', '#72b7b2', '#54a24b', '#eeca3b']

const $ = (id) => document.getElementById(id)
const ui = {
  asset: $('asset'),
  tags: $('tags'),
  range: $('range'),
  key: $('key'),
  error: $('error'),
  status: $('status'),
  series: $('series-chart'),
  production: $('production-chart'),
}

const state = {
  key: '',
  /** id -> tag, for the tags of the current asset. */
  tags: new Map(),
  /** uPlot instances on the page, resized with the window. */
  charts: [],
  /** Each draw gets a number; a slower, older draw never overwrites a newer one. */
  generation: 0,
  abort: null,
}

class ApiError extends Error {
  constructor (status, code, message) {
    super(message)
    this.status = status
    this.code = code
  }
}

/** What to tell the operator, for each way the API can say no. */
function explain (err) {
  if (!(err instanceof ApiError)) return `Something went wrong in the page: ${err.message}`
  switch (err.status) {
    case 0: return `Cannot reach the API: ${err.message}`
    case 401: return `API key missing or wrong: paste a read key in the API key box (or open the page as /dashboard/#key=<key>). The API said: ${err.message}`
    case 403: return `This API key may not read data (it needs the read scope). The API said: ${err.message}`
    case 429: return `Too many requests for this key; wait a moment and change a selection to retry. The API said: ${err.message}`
    default: return `The API answered ${err.status} (${err.code}): ${err.message}`
  }
}

async function api (path, params = {}, signal) {
  const url = new URL(path, location.origin)
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value))
  const headers = { accept: 'application/json' }
  if (state.key !== '') headers.authorization = `Bearer ${state.key}`
  let res
  try {
    res = await fetch(url, { headers, signal })
  } catch (err) {
    if (err.name === 'AbortError') throw err
    throw new ApiError(0, 'network', err.message)
  }
  if (!res.ok) {
    let body = {}
    try { body = await res.json() } catch { /* not JSON: keep the status text */ }
    throw new ApiError(res.status, body.error ?? 'error', body.message ?? res.statusText)
  }
  return res.json()
}

function showError (err) {
  ui.error.textContent = explain(err)
  ui.error.hidden = false
  ui.status.textContent = ''
  document.body.dataset.state = 'error'
}

function clearError () {
  ui.error.hidden = true
  ui.error.textContent = ''
}

function setStatus (text) { ui.status.textContent = text }

// ---- the key ----------------------------------------------------------------------------

function storage () {
  try { return window.sessionStorage } catch { return null } // blocked storage: key box only
}

/** A #key=... fragment wins (and is then removed from the address bar); else this tab's stored key. */
function readKey () {
  const match = /(?:^#|&)key=([^&]*)/.exec(location.hash)
  if (match !== null) {
    const key = decodeURIComponent(match[1]).trim()
    storage()?.setItem(KEY_STORAGE, key)
    history.replaceState(null, '', location.pathname + location.search)
    return key
  }
  return storage()?.getItem(KEY_STORAGE) ?? ''
}

// ---- pickers ------------------------------------------------------------------------------

function option (value, text) {
  const o = document.createElement('option')
  o.value = value
  o.textContent = text
  return o
}

async function loadAssets () {
  clearError()
  setStatus('Loading assets…')
  document.body.dataset.state = 'loading'
  const previous = ui.asset.value
  const { items } = await api('/v1/assets')
  ui.asset.replaceChildren(...items.map(a => option(a.asset, `${a.asset} (${a.tags} tag${a.tags === 1 ? '' : 's'})`)))
  if (items.length === 0) {
    clearCharts('No assets yet: a tag gets its asset from the config or from PATCH /v1/tags/:id.')
    setStatus('')
    document.body.dataset.state = 'empty'
    return
  }
  if (items.some(a => a.asset === previous)) ui.asset.value = previous
  await loadTags()
}

async function loadTags () {
  const asset = ui.asset.value
  setStatus(`Loading the tags of ${asset}…`)
  document.body.dataset.state = 'loading'
  const tags = []
  let cursor
  do {
    const page = await api('/v1/tags', { asset, limit: TAGS_PAGE, cursor })
    tags.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor !== undefined && tags.length < MAX_TAG_OPTIONS)
  if (asset !== ui.asset.value) return // the operator picked another asset meanwhile
  state.tags = new Map(tags.map(t => [String(t.id), t]))
  ui.tags.replaceChildren(...tags.map(t => option(String(t.id), `${t.name}${t.unit ? ` [${t.unit}]` : ''} · ${t.kind}`)))
  // Show something at once: the first tag, until the operator picks others.
  if (ui.tags.options.length > 0) ui.tags.options[0].selected = true
  await draw()
}

function selectedTags () {
  return [...ui.tags.selectedOptions].map(o => state.tags.get(o.value)).filter(t => t !== undefined)
}

// ---- data -> charts -----------------------------------------------------------------------

const seconds = (iso) => Date.parse(iso) / 1000

function clearCharts (message) {
  for (const c of state.charts) c.destroy()
  state.charts = []
  ui.series.replaceChildren(emptyNote(message))
  ui.production.replaceChildren(emptyNote(message))
}

function chartWidth () {
  return Math.max(320, Math.floor(ui.series.getBoundingClientRect().width || document.documentElement.clientWidth - 32))
}

async function draw () {
  const generation = ++state.generation
  state.abort?.abort()
  const abort = new AbortController()
  state.abort = abort
  clearError()
  document.body.dataset.state = 'loading'

  let tags = selectedTags()
  const dropped = Math.max(0, tags.length - MAX_TAGS)
  tags = tags.slice(0, MAX_TAGS)
  const asset = ui.asset.value
  const span = SECONDS[ui.range.value] ?? SECONDS['24h']
  const toMs = Date.now()
  const from = new Date(toMs - span * 1000).toISOString()
  const to = new Date(toMs).toISOString()
  const points = Math.min(1000, Math.max(100, chartWidth()))
  const bucket = span <= HOURLY_UP_TO ? '1h' : '1d'
  setStatus('Loading…')
  const started = performance.now()
  // The series is the point of the page; scores, alerts and production only decorate it.
  // When the API refuses one of those for this range (400, e.g. a year of 5-minute scores is
  // more rows than one response may hold), say so and draw the rest.
  const notes = []
  const optional = (what, request) => request.catch(err => {
    if (!(err instanceof ApiError) || err.status !== 400) throw err
    notes.push(`${what} not shown: ${err.message}`)
    return { items: [] }
  })
  try {
    const [series, scores, alerts, production] = await Promise.all([
      Promise.all(tags.map(t => api('/v1/series', { tag: t.id, from, to, points }, abort.signal))),
      Promise.all(tags.map(t => optional(`anomaly scores of ${t.name}`, api('/v1/scores', { tag: t.id, from, to }, abort.signal)))),
      tags.length === 0 ? { items: [] } : optional('alerts', api('/v1/alerts', { state: 'all', asset, from, to, limit: 1000 }, abort.signal)),
      optional('production', api('/v1/production', { asset, from, to, bucket }, abort.signal)),
    ])
    if (generation !== state.generation) return
    const ids = new Set(tags.map(t => t.id))
    const tagAlerts = alerts.items.filter(a => ids.has(a.tag))
    for (const c of state.charts) c.destroy()
    state.charts = []
    const range = [seconds(from), seconds(to)]
    const drawn = renderSeries(tags, series, scores, tagAlerts, range) + renderProduction(production, range, bucket)
    const ms = Math.round(performance.now() - started)
    const levels = [...new Set(series.map(s => s.level))].join('/')
    setStatus(`${tags.length} tag${tags.length === 1 ? '' : 's'}${dropped > 0 ? ` (first ${MAX_TAGS} of ${tags.length + dropped} selected)` : ''}` +
      (levels !== '' ? ` · series from ${levels}` : '') + ` · ${tagAlerts.length} alert${tagAlerts.length === 1 ? '' : 's'} · ${ms} ms` +
      notes.map(n => ` · ${n}`).join(''))
    // For tests and the curious: what is on screen, and when it got there.
    document.body.dataset.drawMs = String(ms)
    document.body.dataset.drawnAt = String(Math.round(performance.now()))
    document.body.dataset.drawnTags = tags.map(t => t.id).join(',')
    document.body.dataset.state = drawn > 0 ? 'drawn' : 'empty'
  } catch (err) {
    if (err.name === 'AbortError' || generation !== state.generation) return
    showError(err)
  }
}

/** Values chart; returns how many data points it drew. */
function renderSeries (tags, series, scores, alerts, range) {
  if (tags.length === 0) {
    ui.series.replaceChildren(emptyNote('Pick one or more tags.'))
    return 0
  }
  const tables = []
  const nullModes = []
  const defs = [{}]
  const bands = []
  const units = []
  let count = 0
  tags.forEach((tag, i) => {
    const items = series[i].items
    count += items.length
    tables.push([items.map(b => seconds(b.t)), items.map(b => b.min), items.map(b => b.max), items.map(b => b.avg)])
    nullModes.push([1, 1, 1])
    const unit = tag.unit || 'value'
    if (!units.includes(unit)) units.push(unit)
    const color = COLORS[i % COLORS.length]
    const at = defs.length
    defs.push(
      // The band's edges stay out of the legend (dashboard.css hides .fs-band): one entry per tag.
      { label: `${tag.name} min`, class: 'fs-band', scale: unit, stroke: `${color}55`, width: 1, points: { show: false } },
      { label: `${tag.name} max`, class: 'fs-band', scale: unit, stroke: `${color}55`, width: 1, points: { show: false } },
      { label: tag.name, scale: unit, stroke: color, width: 2, points: { show: false } },
    )
    bands.push({ series: [at + 1, at], fill: `${color}30` })
  })
  let scored = 0
  tags.forEach((tag, i) => {
    const items = scores[i].items
    if (items.length === 0) return
    scored += items.length
    tables.push([items.map(s => seconds(s.t)), items.map(s => s.score)])
    nullModes.push([1])
    defs.push({ label: `${tag.name} anomaly score`, scale: 'score', stroke: SCORE_COLORS[i % SCORE_COLORS.length], width: 1.5, dash: [6, 4], points: { show: false } })
  })
  if (count === 0 && scored === 0) {
    ui.series.replaceChildren(emptyNote('No data for the selected tags in this range.'))
    return 0
  }
  const axes = [{}]
  units.forEach((unit, i) => axes.push({ scale: unit, side: 3, label: unit, grid: { show: i === 0 } }))
  axes.push({ scale: 'score', side: 1, label: 'anomaly score', grid: { show: false } })
  const alertSpans = alerts.map(a => [seconds(a.openedAt), a.closedAt === null ? range[1] : seconds(a.closedAt)])
  const chart = new uPlot({
    width: chartWidth(),
    height: 380,
    series: defs,
    bands,
    axes,
    scales: {
      x: { time: true, range: () => range },
      score: { range: [0, 1] },
    },
    hooks: { drawClear: [u => drawAlerts(u, alertSpans)] },
  }, uPlot.join(tables, nullModes), ui.series)
  ui.series.replaceChildren(chart.root)
  state.charts.push(chart)
  return count + scored
}

/** Alerts as red bands from opening to closing (to the right edge while open), under the data. */
function drawAlerts (u, spans) {
  const { ctx, bbox } = u
  ctx.save()
  for (const [open, close] of spans) {
    const x0 = Math.max(bbox.left, u.valToPos(open, 'x', true))
    const x1 = Math.min(bbox.left + bbox.width, u.valToPos(close, 'x', true))
    if (x1 < bbox.left || x0 > bbox.left + bbox.width) continue
    ctx.fillStyle = ALERT_FILL
    ctx.fillRect(x0, bbox.top, Math.max(2, x1 - x0), bbox.height)
    ctx.fillStyle = ALERT_EDGE
    ctx.fillRect(x0, bbox.top, 2, bbox.height)
  }
  ctx.restore()
}

/** Production bars, one series per unit (m3 is never added to bbl); returns the bars drawn. */
function renderProduction (production, range, bucket) {
  const byUnit = new Map()
  for (const item of production.items) {
    const unit = item.unit || 'volume'
    let perT = byUnit.get(unit)
    if (perT === undefined) byUnit.set(unit, perT = new Map())
    const t = seconds(item.t)
    perT.set(t, (perT.get(t) ?? 0) + (item.volume ?? 0))
  }
  if (byUnit.size === 0) {
    ui.production.replaceChildren(emptyNote('No production for this asset in this range (it needs counter or rate tags).'))
    return 0
  }
  const xs = [...new Set([...byUnit.values()].flatMap(m => [...m.keys()]))].sort((a, b) => a - b)
  const units = [...byUnit.keys()]
  const data = [xs, ...units.map(u => xs.map(t => byUnit.get(u).get(t) ?? null))]
  const bars = uPlot.paths.bars({ size: [0.8, 64] })
  const halfBucket = (bucket === '1h' ? 3600 : 86400) / 2
  const chart = new uPlot({
    width: chartWidth(),
    height: 240,
    series: [{}, ...units.map((unit, i) => ({ label: `production [${unit}] per ${bucket}`, scale: unit, stroke: BAR_COLORS[i % BAR_COLORS.length], fill: `${BAR_COLORS[i % BAR_COLORS.length]}b0`, paths: bars, points: { show: false } }))],
    axes: [{}, ...units.map((unit, i) => ({ scale: unit, side: i === 0 ? 3 : 1, label: unit, grid: { show: i === 0 } }))],
    // Bars are centred on their bucket start; keep the first and last whole on screen.
    scales: { x: { time: true, range: () => [range[0] - halfBucket, range[1] + halfBucket] }, ...Object.fromEntries(units.map(u => [u, { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] }])) },
  }, data, ui.production)
  ui.production.replaceChildren(chart.root)
  state.charts.push(chart)
  return xs.length
}

function emptyNote (text) {
  const p = document.createElement('p')
  p.className = 'empty'
  p.textContent = text
  return p
}

function resize () {
  const width = chartWidth()
  for (const c of state.charts) c.setSize({ width, height: c.height })
}

// ---- wiring -------------------------------------------------------------------------------

async function guarded (fn) {
  try {
    await fn()
  } catch (err) {
    if (err.name !== 'AbortError') showError(err)
  }
}

function start () {
  if (typeof globalThis.uPlot !== 'function') {
    showError(new Error('the chart library (vendor/uPlot.iife.min.js) did not load'))
    return
  }
  state.key = readKey()
  ui.key.value = state.key
  ui.key.addEventListener('change', () => {
    state.key = ui.key.value.trim()
    storage()?.setItem(KEY_STORAGE, state.key)
    guarded(loadAssets)
  })
  // Enter in a field would submit the form and navigate (the key into the URL): never.
  $('controls').addEventListener('submit', (event) => event.preventDefault())
  ui.asset.addEventListener('change', () => guarded(loadTags))
  ui.tags.addEventListener('change', () => guarded(draw))
  ui.range.addEventListener('change', () => guarded(draw))
  let timer
  window.addEventListener('resize', () => { clearTimeout(timer); timer = setTimeout(resize, 100) })
  guarded(loadAssets)
}

start()
