// The dashboard plugin on its own: what it serves, with which headers (the page itself is
// driven in a real browser against the real API in dashboard.test.ts).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { gunzipSync } from 'node:zlib'
import Fastify from 'fastify'
import t from 'tap'
import { dashboardPlugin } from '../../api/dashboard/plugin.js'
import { repoPath } from '../helpers/repo.js'

t.test('serves the page, its module and uPlot from memory, with validators', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(dashboardPlugin)

  const root = await app.inject('/')
  t.equal(root.statusCode, 302, '/ redirects')
  t.equal(root.headers.location, '/dashboard/')
  const bare = await app.inject('/dashboard')
  t.equal(bare.headers.location, '/dashboard/', '/dashboard redirects to the trailing-slash page, so relative asset URLs resolve')

  const page = await app.inject('/dashboard/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(page.body, readFileSync(repoPath('api/dashboard/public/index.html'), 'utf8'), 'the page as written')
  t.match(page.headers['content-security-policy'], /script-src 'self'/, 'scripts only from the API origin')
  t.match(page.headers['cache-control'], /must-revalidate/)

  const module = await app.inject('/dashboard/dashboard.js')
  t.equal(module.statusCode, 200)
  t.match(module.headers['content-type'], /^text\/javascript/)
  t.match(module.body, /\/v1\/series/, 'the hand-written module')

  const uplot = await app.inject('/dashboard/vendor/uPlot.iife.min.js')
  const uplotFile = createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js')
  t.equal(uplot.body, readFileSync(uplotFile, 'utf8'), 'uPlot straight from node_modules')
  t.equal((await app.inject('/dashboard/vendor/uPlot.min.css')).statusCode, 200)
  t.equal((await app.inject('/dashboard/dashboard.css')).statusCode, 200)

  const etag = module.headers.etag as string
  t.match(etag, /^"[\w-]+"$/, 'an ETag')
  const again = await app.inject({ url: '/dashboard/dashboard.js', headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304, 'a cached copy is revalidated with 304')
  t.equal(again.body, '', 'no body on 304')
  const stale = await app.inject({ url: '/dashboard/dashboard.js', headers: { 'if-none-match': '"old"' } })
  t.equal(stale.statusCode, 200, 'a stale copy gets the file again')

  const gz = await app.inject({ url: '/dashboard/vendor/uPlot.iife.min.js', headers: { 'accept-encoding': 'gzip, deflate, br' } })
  t.equal(gz.headers['content-encoding'], 'gzip', 'gzip when the client accepts it')
  t.equal(gunzipSync(gz.rawPayload).toString('utf8'), uplot.body, 'the same bytes, compressed')
  t.ok(gz.rawPayload.length < uplot.rawPayload.length / 2, `uPlot ${uplot.rawPayload.length} -> ${gz.rawPayload.length} bytes`)
  t.not(gz.headers.etag, uplot.headers.etag, 'each representation has its own ETag')
  t.equal(gz.headers.vary, 'accept-encoding')
  const gz304 = await app.inject({ url: '/dashboard/vendor/uPlot.iife.min.js', headers: { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag as string } })
  t.equal(gz304.statusCode, 304, 'and revalidates with it')

  t.equal((await app.inject('/dashboard/secrets.txt')).statusCode, 404, 'nothing else under /dashboard/')
  t.equal((await app.inject('/dashboard/../package.json')).statusCode, 404, 'no path traversal: only the named files exist')
})
