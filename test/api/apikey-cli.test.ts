// `fieldstream apikey create|list|revoke` as an operator runs them (the compiled CLI in a
// child process, against a real database), then the printed key used over a real socket.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { createApiServer } from '../../api/server.js'
import { loadConfig } from '../../schemas/config/load.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'

// The CLI compiled next to this test (dist*/cli/index.js), whichever output folder it is.
const CLI = fileURLToPath(new URL('../../cli/index.js', import.meta.url))

t.test('create prints a key once; it works until revoked; list shows it without the secret', async t => {
  const db = await createTestDatabase('api_cli')
  t.teardown(() => db.drop())
  const fieldstream = async (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, DATABASE_URL: db.url }, encoding: 'utf8', timeout: 30_000 })
      return { code: 0, stdout, stderr }
    } catch (err) {
      const e = err as { code: number, stdout: string, stderr: string }
      return { code: e.code, stdout: e.stdout, stderr: e.stderr }
    }
  }

  const early = await fieldstream('apikey', 'create', '--name', 'too early')
  t.equal(early.code, 2, 'before migrations: a clear error, exit 2')
  t.match(early.stderr, /the api_keys table does not exist in this database: run `fieldstream migrate` first/)
  await migrateTestDatabase(db.url)

  const bad = await fieldstream('apikey', 'create', '--name', 'x', '--scope', 'write')
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--scope must be one of read, admin \(got "write"\)/)

  const created = await fieldstream('apikey', 'create', '--name', 'grafana', '--scope', 'read')
  t.equal(created.code, 0, created.stderr)
  const key = created.stdout.trim()
  t.match(key, /^fsk_[A-Za-z0-9_-]{43}$/, 'stdout is the key alone, ready for a script')
  t.match(created.stderr, /created API key fsk_\S{12} "grafana" with scopes read; it is shown only now/)
  const { rows } = await db.pool.query('SELECT prefix, key_hash, scopes FROM api_keys')
  t.equal(rows.length, 1)
  t.ok(key.startsWith(rows[0].prefix), 'the stored prefix is the start of the key')
  t.notOk(JSON.stringify(rows).includes(key.slice(16)), 'the secret part is not stored')
  t.match(rows[0].key_hash, /^[0-9a-f]{64}$/, 'only a SHA-256')

  const cfg = loadConfig()
  const app = createApiServer({ api: { ...cfg.api, keyCacheSeconds: 0 }, kafka: cfg.kafka }, { pool: db.pool })
  t.teardown(() => app.close())
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const call = async (): Promise<Response> => await fetch(`${base}/v1/assets`, { headers: { authorization: `Bearer ${key}` } })
  const ok = await call()
  t.equal(ok.status, 200, 'the printed key opens /v1 over HTTP')
  t.same(await ok.json(), { items: [] })

  const admin = await fieldstream('apikey', 'create', '--name', 'ops', '--scope', 'admin')
  t.match(admin.stderr, /scopes read, admin/, 'admin keys can read too')

  const list = await fieldstream('apikey', 'list')
  t.equal(list.code, 0)
  const lines = list.stdout.trim().split('\n').map(l => l.split('\t'))
  t.same(lines[0], ['prefix', 'name', 'scopes', 'created', 'last used', 'revoked'])
  t.same(lines.slice(1).map(l => [l[0], l[1], l[2], l[5]]), [[rows[0].prefix, 'grafana', 'read', '-'], [admin.stderr.match(/fsk_\S{12}/)![0], 'ops', 'read,admin', '-']])
  t.not(lines[1]![4], '-', 'last use recorded')
  t.notOk(list.stdout.includes(key), 'list never shows a key')

  const revoke = await fieldstream('apikey', 'revoke', rows[0].prefix)
  t.equal(revoke.code, 0, revoke.stderr)
  const refused = await call()
  t.equal(refused.status, 401, 'a revoked key is refused')
  t.match(await refused.json(), { error: 'unauthorized', message: /has been revoked/ })
  const again = await fieldstream('apikey', 'revoke', rows[0].prefix)
  t.equal(again.code, 2)
  t.match(again.stderr, /no active API key has the prefix/)
})
