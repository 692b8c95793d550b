import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../../schemas/config/load.js'
import { repoPath } from '../../helpers/repo.js'

const dir = mkdtempSync(join(tmpdir(), 'fieldstream-config-'))
function file (name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

t.test('no file: defaults, and the result is frozen', async t => {
  const cfg = loadConfig({ env: {} })
  t.same(cfg.kafka.brokers, ['127.0.0.1:9092'])
  t.equal(cfg.kafka.topics.points, 'fieldstream.points')
  t.equal(cfg.database.url, 'postgres://postgres@127.0.0.1:5432/fieldstream')
  t.ok(Object.isFrozen(cfg.kafka.topics))
})

t.test('the example config in the repo is valid', async t => {
  const cfg = loadConfig({ file: repoPath('config/demo.yaml'), env: {} })
  t.ok(cfg.sim.modbus.rtus > 0)
  t.equal(cfg.collectors.mqtt.enabled, true)
})

t.test('environment overrides win over the file', async t => {
  const path = file('a.yaml', 'kafka:\n  brokers: [k1:9092]\napi:\n  port: 9000\n')
  const cfg = loadConfig({ file: path, env: { KAFKA_BROKERS: 'b1:19092, b2:19092', API_PORT: '9100', DATABASE_URL: 'postgres://u@db:5433/x' } })
  t.same(cfg.kafka.brokers, ['b1:19092', 'b2:19092'])
  t.equal(cfg.api.port, 9100)
  t.equal(cfg.database.url, 'postgres://u@db:5433/x')
})

t.test('FIELDSTREAM_CONFIG names the file', async t => {
  const path = file('b.yaml', 'sim:\n  modbus:\n    pumps: 42\n')
  t.equal(loadConfig({ env: { FIELDSTREAM_CONFIG: path } }).sim.modbus.pumps, 42)
})

t.test('an invalid file names the file, the line, the path and the problem, for every error', async t => {
  const path = file('bad.yaml', [
    'kafka:',
    '  brokers:',
    '    - localhost',
    '  partitons: 3',
    'api:',
    '  port: 99999',
  ].join('\n'))
  const err = (() => { try { loadConfig({ file: path, env: {} }) } catch (e) { return e as Error & { code: string } } })()
  t.equal(err?.code, 'FS_CONFIG_INVALID')
  t.match(err?.message, `config error in ${path}`)
  t.match(err?.message, /line 3, kafka\.brokers\[0\]: must look like host:port \(got "localhost"\)/)
  t.match(err?.message, /line 4, kafka\.partitons: unknown option "partitons" \(expected one of: brokers, clientId, topics, partitions/)
  t.match(err?.message, /line 6, api\.port: must be <= 65535 \(got 99999\)/)
})

t.test('a bad environment value names the variable', async t => {
  t.throws(() => loadConfig({ env: { API_PORT: 'eighty' } }), {
    code: 'FS_CONFIG_INVALID',
    message: /api\.port: must be integer \(got "eighty"\) \[from environment variable API_PORT\]/,
  })
})

t.test('YAML syntax errors and missing files are reported as unreadable', async t => {
  const path = file('syntax.yaml', 'kafka:\n  brokers: [a:1\n')
  t.throws(() => loadConfig({ file: path, env: {} }), { code: 'FS_CONFIG_UNREADABLE', message: new RegExp(`${path}:\\d+:\\d+ is not valid YAML`) })
  t.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), { code: 'FS_CONFIG_UNREADABLE', message: /cannot read config file .*missing\.yaml/ })
  const scalar = file('scalar.yaml', 'just a string\n')
  t.throws(() => loadConfig({ file: scalar, env: {} }), { code: 'FS_CONFIG_INVALID', message: /top level must be a mapping/ })
})
