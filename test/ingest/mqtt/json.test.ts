// JSON payload paths: table cases in test/fixtures/mqtt/json-cases.json.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { MqttPayloadInvalid } from '../../../ingest/mqtt/errors.js'
import { compileJsonPayload } from '../../../ingest/mqtt/json.js'
import { repoPath } from '../../helpers/repo.js'
import { mqttConfig } from './helpers.js'

interface Case {
  name: string
  payload: Record<string, unknown>
  message?: unknown
  raw?: string
  expect?: { key: string | null, timeUs: number | 'received', value: number | boolean, quality: number }[]
  error?: string
}

const cases = JSON.parse(readFileSync(repoPath('test/fixtures/mqtt/json-cases.json'), 'utf8')) as Case[]
const RECEIVED_US = 1_700_000_000_000_000

for (const c of cases) {
  t.test(c.name, async t => {
    const cfg = mqttConfig({ subscriptions: [{ topic: '#', tag: '{#}', payload: c.payload }] })
    const extract = compileJsonPayload(cfg.subscriptions[0]!.payload)
    const bytes = Buffer.from(c.raw ?? JSON.stringify(c.message))
    if (c.error !== undefined) {
      const err = (() => { try { extract(bytes, RECEIVED_US) } catch (e) { return e } })()
      t.type(err, MqttPayloadInvalid)
      t.match((err as Error).message, c.error)
      return
    }
    const got = extract(bytes, RECEIVED_US).map(r => ({ ...r, key: r.key ?? null }))
    t.same(got, c.expect!.map(e => ({ ...e, timeUs: e.timeUs === 'received' ? RECEIVED_US : e.timeUs })))
  })
}
