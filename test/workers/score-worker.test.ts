// The scoring stage against the real broker and server, with the shipped model: simulated
// series with labelled faults go through Kafka; scores are stored for every window of every
// tag, alerts open on the faulted tags (table, alert topic). The model is not perfect (bench
// quality: event precision about 0.99 per fault kind), so the test bounds false alerts rather
// than requiring none.
import t from 'tap'
import { createAdmin, createBatchConsumer, ensureTopics } from '../../common/kafka.js'
import { createLogger } from '../../common/log.js'
import { batchFromPoints, type Point } from '../../schemas/points.js'
import { generateDataset } from '../../sim/dataset.js'
import { createScoreWorker, scoreOptionsFromConfig } from '../../workers/score-worker.js'
import type { AlertRecord } from '../../workers/alerts/store.js'
import { sqlOfPg } from '../../workers/store/sql.js'
import { syncTagRules } from '../../workers/store/tag-rules.js'
import { createTestDatabase, migrateTestDatabase } from '../helpers/db.js'
import { createTestPipeline, waitFor } from '../helpers/pipeline.js'

t.setTimeout(240_000)

t.test('every window scored and stored; every fault alerted, few false alerts; alerts on the alert topic', async t => {
  const db = await createTestDatabase('score_worker')
  t.teardown(() => db.drop())
  await migrateTestDatabase(db.url)
  // 12 tags x 40 minutes at 1 Hz; faults on some of them after the warm-up.
  const data = generateDataset({ seed: 11, tags: 12, seconds: 2400, kinds: ['spike', 'stuck', 'drift'], meanGapSeconds: 2400 })
  const faulted = new Set(data.labels.map(l => l.tag))
  t.ok(faulted.size > 0 && faulted.size < 12, `${faulted.size} of 12 tags carry faults (${data.labels.map(l => l.kind).join(', ')})`)
  // One healthy tag declared a counter: totalizers rise by design and are not scored.
  const counterTag = data.series.map(s => s.tag).find(tag => !faulted.has(tag) && !tag.endsWith('/motor_temp'))!
  const p = await createTestPipeline('score_worker', db.url, {
    scoring: { groupId: `score-${process.pid}-${Date.now()}`, alerts: { openAfterS: 10, closeAfterS: 60 } },
    tags: { rules: [{ match: `^${counterTag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, kind: 'counter' }] },
  })
  t.teardown(() => p.close())
  const admin = createAdmin(p.cfg.kafka)
  await ensureTopics(admin, [{ name: p.cfg.kafka.topics.alerts, partitions: 1, replicationFactor: 1 }])
  await admin.close()
  // The storage worker copies the rules into the store at start; here the test does.
  await syncTagRules(sqlOfPg(db.pool), p.cfg.tags.rules)
  const batches = []
  for (const s of data.series) {
    for (let at = 0; at < s.timeUs.length; at += 60) {
      const points: Point[] = []
      for (let i = at; i < Math.min(at + 60, s.timeUs.length); i++) points.push({ tag: s.tag, timeUs: s.timeUs[i]!, value: s.value[i]!, quality: 0xc0 })
      batches.push(batchFromPoints(s.tag, at, points))
    }
  }
  // A boolean tag (a pump's running state) switches by design: never scored.
  const running: Point[] = []
  for (let i = 0; i < 2400; i++) running.push({ tag: 'ds11/pump9/running', timeUs: data.series[0]!.timeUs[i]!, value: Math.floor(i / 90) % 2 === 0, quality: 0xc0 })
  for (let at = 0; at < 2400; at += 60) batches.push(batchFromPoints('ds11/pump9', at, running.slice(at, at + 60)))
  await p.produce(batches)
  const points = data.series.reduce((n, s) => n + s.timeUs.length, 0) + running.length

  const worker = createScoreWorker(scoreOptionsFromConfig(p.cfg), { log: createLogger('test-score'), producer: p.producer })
  await worker.start()
  t.teardown(() => worker.stop())
  await waitFor(async () => worker.stats.pointsSeen, n => n >= points, 90_000)
  await worker.flush()

  const { rows: [s] } = await db.pool.query<{ n: number, tags: number, lo: number, hi: number, model: string }>(
    'SELECT count(*)::int AS n, count(DISTINCT tag_id)::int AS tags, min(score) AS lo, max(score) AS hi, min(model) AS model FROM anomaly_scores')
  t.equal(s!.tags, 11, 'every tag scored but the counter')
  const { rows: [c] } = await db.pool.query<{ kind: string, n: number }>(
    'SELECT t.kind, (SELECT count(*)::int FROM anomaly_scores a WHERE a.tag_id = t.id) AS n FROM tags t WHERE t.name = $1', [counterTag])
  t.same(c, { kind: 'counter', n: 0 }, `${counterTag}, a counter, has no scores`)
  const { rows: [b] } = await db.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM anomaly_scores a JOIN tags t ON t.id = a.tag_id WHERE t.name = 'ds11/pump9/running'")
  t.equal(b!.n, 0, 'a boolean tag has no scores')
  // One score per `hop` (8) good points after the 128-point warm-up, backlog or not.
  t.ok(s!.n >= 11 * Math.floor((2400 - 128) / 8) - 11, `${s!.n} scores stored`)
  t.ok(s!.lo >= 0 && s!.hi <= 1, 'scores within [0, 1]')
  t.equal(s!.model, 'anomaly-v1')

  const { rows: alerts } = await db.pool.query<{ tag: string, opened_at: Date, closed_at: Date | null }>(
    'SELECT t.name AS tag, a.opened_at, a.closed_at FROM alerts a JOIN tags t ON t.id = a.tag_id ORDER BY a.opened_at')
  const alerted = new Set(alerts.map(a => a.tag))
  const overlaps = (a: { tag: string, opened_at: Date, closed_at: Date | null }, l: { tag: string | undefined, startUs: number, endUs: number }): boolean =>
    a.tag === l.tag && a.opened_at.getTime() * 1000 <= l.endUs + 60e6 && (a.closed_at === null || a.closed_at.getTime() * 1000 >= l.startUs)
  const caught = data.labels.filter(l => alerts.some(a => overlaps(a, l)))
  t.equal(caught.length, data.labels.length, `every one of the ${data.labels.length} injected faults raised an alert overlapping it`)
  const falseAlerts = alerts.filter(a => !data.labels.some(l => overlaps(a, l)))
  t.ok(falseAlerts.length <= 1,
    `${alerts.length} alerts, ${falseAlerts.length} without a fault (${falseAlerts.map(a => a.tag).join(', ') || 'none'})`)

  const reader = createBatchConsumer(p.cfg.kafka, `alerts-reader-${process.pid}-${Date.now()}`)
  t.teardown(() => reader.close(true))
  const stream = await reader.consume({ topics: [p.cfg.kafka.topics.alerts], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
  const published: AlertRecord[] = []
  stream.on('data', m => { published.push(JSON.parse(m.value.toString()) as AlertRecord) })
  await waitFor(async () => published.length, n => n >= alerts.length + alerts.filter(a => a.closed_at !== null).length, 20_000)
  t.same(new Set(published.filter(a => a.event === 'opened').map(a => a.tag)), alerted, 'every opened alert is on the alert topic')
  await stream.close()
})
