// The dashboard: one HTML page, one hand-written ES module and uPlot, served by the API
// itself so an operator needs nothing but a browser and a read key. No bundler and no
// @fastify/static: the five files are read (and gzipped) once at registration and served from memory with
// an ETag, so a page load costs five small responses (304s once cached).
//
// The page and its assets are public (they hold no data); every request the page makes to
// /v1 carries the operator's key, exactly like any other API client.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { constants, gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Where the page lives; `/` redirects here. */
export const DASHBOARD_PATH = '/dashboard/'

// Compiled to <outDir>/api/dashboard/plugin.js: the sources stay beside the TypeScript.
const PUBLIC_DIR = fileURLToPath(new URL('../../../api/dashboard/public/', import.meta.url))

// The page names its assets without a version, so the browser must revalidate them
// (`no-cache` still stores them and costs only a 304); uPlot's file is versioned by the
// package, but it shares the same rule so an upgrade is never masked by a stale cache.
const REVALIDATE = 'public, max-age=0, must-revalidate'
const HTML_TYPE = 'text/html; charset=utf-8'
const JS_TYPE = 'text/javascript; charset=utf-8'
const CSS_TYPE = 'text/css; charset=utf-8'

// The page loads scripts and styles only from here and talks only to this origin; uPlot sets
// element styles from script (allowed) and the page has no inline script.
const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

export interface DashboardAsset {
  body: Buffer
  /** The same bytes gzipped once at start-up (uPlot: 51 KB -> ~23 KB), for clients that accept it. */
  gzip: Buffer
  type: string
  cache: string
  etag: string
  /** A different representation needs its own validator. */
  gzipEtag: string
}

function asset (body: Buffer, type: string, cache = REVALIDATE): DashboardAsset {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22)
  return { body, gzip: gzipSync(body, { level: constants.Z_BEST_COMPRESSION }), type, cache, etag: `"${hash}"`, gzipEtag: `"${hash}-gz"` }
}

/** Read the page's files once; a missing file fails registration (and so server start) loudly. */
export function loadDashboardAssets (): Map<string, DashboardAsset> {
  const require = createRequire(import.meta.url)
  const uplotJs = require.resolve('uplot/dist/uPlot.iife.min.js')
  const uplotCss = require.resolve('uplot/dist/uPlot.min.css')
  const read = (file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new Error(`dashboard: cannot read ${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  return new Map([
    ['', asset(read(`${PUBLIC_DIR}index.html`), HTML_TYPE)],
    ['dashboard.js', asset(read(`${PUBLIC_DIR}dashboard.js`), JS_TYPE)],
    ['dashboard.css', asset(read(`${PUBLIC_DIR}dashboard.css`), CSS_TYPE)],
    ['vendor/uPlot.iife.min.js', asset(read(uplotJs), JS_TYPE)],
    ['vendor/uPlot.min.css', asset(read(uplotCss), CSS_TYPE)],
  ])
}

export async function dashboardPlugin (app: FastifyInstance): Promise<void> {
  const assets = loadDashboardAssets()
  const send = (a: DashboardAsset, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const gzip = /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')
    const etag = gzip ? a.gzipEtag : a.etag
    reply.header('cache-control', a.cache).header('etag', etag).header('vary', 'accept-encoding').header('x-content-type-options', 'nosniff')
    if (a.type === HTML_TYPE) reply.header('content-security-policy', PAGE_CSP).header('referrer-policy', 'no-referrer')
    if (request.headers['if-none-match'] === etag) return reply.code(304).send()
    if (gzip) reply.header('content-encoding', 'gzip')
    return reply.type(a.type).send(gzip ? a.gzip : a.body)
  }
  const hide = { schema: { hide: true } } // not part of the /docs API surface
  app.get('/', hide, async (_request, reply) => reply.redirect(DASHBOARD_PATH, 302))
  app.get('/dashboard', hide, async (_request, reply) => reply.redirect(DASHBOARD_PATH, 301))
  for (const [name, a] of assets) {
    app.get(`${DASHBOARD_PATH}${name}`, hide, async (request, reply) => send(a, request, reply))
  }
}
