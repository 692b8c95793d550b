// The scorer with the shipped model: which points it takes, when a tag is due, and (real
// numbers from the real model) that scores are high inside injected faults and low outside,
// on fresh simulated series of a seed the model never saw. Also the Piscina task, in a thread.
import { Piscina } from 'piscina'
import t from 'tap'
import { WARMUP, WINDOW } from '../../../schemas/model/contract.js'
import { batchFromPoints, type Point } from '../../../schemas/points.js'
import { Quality, QualityFlag } from '../../../schemas/quality.js'
import type { FaultKind } from '../../../sim/modbus/faults.js'
import { generateDataset } from '../../../sim/dataset.js'
import { assetOfTag, assetScores, createScorer, scorerOptions } from '../../../workers/score/scorer.js'
import { SCORE_TASK_FILE, type ScoreTask, type ScoreTaskResult } from '../../../workers/score/task.js'
import { labelsByTag, matchEvents } from '../../../bench/score/labelled.js'
import { modelThreshold, scoreDataset } from '../../../bench/score/quality.bench.js'
import { SHIPPED_MODEL_PATH } from '../../../workers/score/scorer.js'

const T0 = Date.UTC(2026, 2, 1) * 1000
const S = 1_000_000

t.test('options are checked and name the field', async t => {
  t.throws(() => scorerOptions({ hop: 0 }), { name: 'RangeError', message: 'options.hop must be a positive integer, got 0' })
  t.throws(() => scorerOptions({ hop: WINDOW + 1 }), { message: /options\.hop must be at most the window \(32\)/ })
  t.throws(() => scorerOptions({ maxBatch: 1.5 }), { message: /options\.maxBatch/ })
  t.equal(scorerOptions().hop, 8)
})

t.test('bad, historical, late and non-finite points are skipped; a tag is due every hop points after warm-up', async t => {
  const scorer = await createScorer({ hop: 4 })
  t.teardown(() => scorer.close())
  let time = T0
  for (let i = 0; i < WARMUP - 1; i++) t.ok(scorer.push(7, (time += S), 10 + (i % 5) * 0.1, Quality.good) || t.fail('good point refused'))
  t.equal(scorer.due, 0, 'not due during warm-up')
  const lastTaken = time
  t.notOk(scorer.push(7, (time += S), 10, Quality.badCommFailure), 'bad quality skipped')
  t.notOk(scorer.push(7, (time += S), 10, Quality.good | QualityFlag.historical), 'historical skipped')
  t.notOk(scorer.push(7, lastTaken - 5 * S, 10, Quality.good), 'late point skipped')
  t.notOk(scorer.push(7, lastTaken, 10, Quality.good), 'repeated timestamp skipped')
  t.notOk(scorer.push(7, (time += S), Number.NaN, Quality.good), 'NaN skipped')
  t.ok(scorer.push(7, (time += S), 10.2, Quality.uncertainEuExceeded), 'uncertain taken')
  t.equal(scorer.due, 1, 'due once warm-up is reached (hop already passed)')
  const r = await scorer.scoreDue()
  t.same(Array.from(r.tagIds), [7])
  t.same(Array.from(r.ts), [time], 'ts = newest point')
  t.equal(r.model, 'anomaly-v1')
  t.ok(r.scores[0]! >= 0 && r.scores[0]! <= 1)
  for (let i = 0; i < 3; i++) scorer.push(7, (time += S), 10, Quality.good)
  t.equal(scorer.due, 0, 'three new points: not yet due')
  scorer.push(7, (time += S), 10.1, Quality.good)
  t.equal(scorer.due, 1, 'fourth point: due')
  for (let i = 0; i < 20; i++) scorer.push(7, (time += S), 10 + (i % 3) * 0.1, Quality.good)
  t.equal(scorer.due, 1, 'due once, however many points came since')
  t.equal((await scorer.scoreDue()).scores.length, 1)
  t.equal((await scorer.scoreDue()).scores.length, 0, 'nothing due right after a score')
})

t.test('point batches: dictionary indices map to tag ids, boolean tags are not scored; asset scores are the max of their tags', async t => {
  const scorer = await createScorer({ hop: 8 })
  t.teardown(() => scorer.close())
  const points: Point[] = []
  for (let i = 0; i < WARMUP + 8; i++) {
    points.push({ tag: 'pad1/pump1/speed', timeUs: T0 + i * S, value: 1450 + Math.sin(i / 9) * 20 + (i % 7), quality: Quality.good })
    points.push({ tag: 'pad1/pump1/running', timeUs: T0 + i * S, value: true, quality: Quality.good })
    points.push({ tag: 'pad1/pump1/motor_temp', timeUs: T0 + i * S, value: i === WARMUP + 5 ? 95 : 65 + (i % 3) * 0.1, quality: Quality.good })
  }
  const batch = batchFromPoints('pad1/pump1', 1, points)
  const ids = batch.tags.map(tag => ({ 'pad1/pump1/speed': 101, 'pad1/pump1/running': 102, 'pad1/pump1/motor_temp': 103 })[tag]!)
  t.equal(scorer.pushBatch(batch, ids), 2 * (WARMUP + 8), 'numeric points taken, boolean skipped')
  t.equal(scorer.tags, 2)
  const r = await scorer.scoreDue()
  t.same(Array.from(r.tagIds).sort(), [101, 103])
  const temp = r.scores[Array.from(r.tagIds).indexOf(103)]!
  const speed = r.scores[Array.from(r.tagIds).indexOf(101)]!
  t.ok(temp > 0.5, `motor temperature spike of 30 degC on 0.1 noise scores high: ${temp.toFixed(3)}`)
  const nameOf = new Map([[101, 'pad1/pump1/speed'], [103, 'pad1/pump1/motor_temp']])
  const assets = assetScores(r, id => assetOfTag(nameOf.get(id)!))
  t.same([...assets.keys()], ['pad1/pump1'])
  t.equal(assets.get('pad1/pump1')!.score, Math.max(temp, speed))
  t.equal(assets.get('pad1/pump1')!.tagId, temp >= speed ? 103 : 101)
  t.equal(assetOfTag('pad1/pump1/speed'), 'pad1/pump1')
  t.equal(assetOfTag('lonely'), 'lonely')
})

t.test('the shipped model scores injected spike, stuck and drift faults high and healthy data low (held-out seed)', async t => {
  const threshold = modelThreshold(SHIPPED_MODEL_PATH) ?? 0.5
  for (const kind of ['spike', 'stuck', 'drift'] as FaultKind[]) {
    const ds = generateDataset({ seed: 4242, tags: 21, seconds: 2 * 3600, kinds: [kind], meanGapSeconds: 900 })
    const scored = await scoreDataset(ds, SHIPPED_MODEL_PATH, 8)
    const faults = labelsByTag(ds.labels)
    let inside = 0
    let high = 0
    let outside = 0
    let lowOutside = 0
    for (const [tag, { ts, scores }] of scored) {
      const list = faults.get(tag) ?? []
      for (const f of list) {
        inside++
        let peak = 0
        for (let i = 0; i < ts.length; i++) if (ts[i]! >= f.startUs && ts[i]! <= f.endUs + WINDOW * S) peak = Math.max(peak, scores[i]!)
        if (peak >= threshold) high++
      }
      // Healthy: windows that hold no faulty value and are past any fault's recovery minute.
      for (let i = 0; i < ts.length; i++) {
        if (list.some(f => ts[i]! >= f.startUs && ts[i]! <= f.endUs + (WINDOW + 60) * S)) continue
        outside++
        if (scores[i]! < threshold) lowOutside++
      }
    }
    t.ok(inside >= 10, `${kind}: ${inside} faults injected`)
    t.ok(high / inside >= 0.85, `${kind}: ${high}/${inside} faults reach a score >= ${threshold}`)
    t.ok(lowOutside / outside >= 0.995, `${kind}: ${lowOutside}/${outside} healthy windows score < ${threshold}`)
    const q = matchEvents(scored, ds.labels, threshold, kind)
    t.ok(q.precision >= 0.8, `${kind}: event precision ${q.precision.toFixed(3)} (${q.falseEvents} false of ${q.events})`)
  }
})

t.test('the Piscina task scores in a worker thread, one scorer per thread', async t => {
  const pool = new Piscina({ filename: SCORE_TASK_FILE, minThreads: 1, maxThreads: 1, workerData: { hop: 8 } })
  t.teardown(() => pool.destroy())
  const n = WARMUP + 16
  const task: ScoreTask = { tagIds: new Int32Array(2 * n), timeUs: new Float64Array(2 * n), value: new Float64Array(2 * n), quality: new Uint16Array(2 * n).fill(Quality.good) }
  for (let i = 0; i < n; i++) {
    for (const k of [0, 1]) {
      task.tagIds[2 * i + k] = 5 + k
      task.timeUs[2 * i + k] = T0 + i * S
      task.value[2 * i + k] = k === 0 ? 20 + Math.sin(i / 5) + (i % 4) * 0.05 : 3 // tag 6 is stuck from the start
    }
  }
  const first: ScoreTaskResult = await pool.run(task, { transferList: [task.tagIds.buffer as ArrayBuffer, task.timeUs.buffer as ArrayBuffer, task.value.buffer as ArrayBuffer, task.quality.buffer as ArrayBuffer] })
  t.equal(task.tagIds.byteLength, 0, 'columns were transferred, not cloned')
  t.equal(first.taken, 2 * n)
  t.equal(first.tags, 2)
  // A task is cut into slices of at most `hop` points per tag, so every hop's window is scored,
  // not only the newest: after the warm-up, at WARMUP, WARMUP + 8 and WARMUP + 16 points.
  t.same(Array.from(first.tagIds).sort(), [5, 5, 5, 6, 6, 6])
  t.same([...new Set(Array.from(first.ts))].sort((a, b) => a - b), [T0 + (WARMUP - 1) * S, T0 + (WARMUP + 7) * S, T0 + (WARMUP + 15) * S], 'each window at its newest point')
  t.ok(first.scores.every(s => s >= 0 && s <= 1))
  // State persists in the thread: 8 more points of tag 5 make it due again.
  const more: ScoreTask = { tagIds: new Int32Array(8).fill(5), timeUs: Float64Array.from({ length: 8 }, (_, i) => T0 + (n + i) * S), value: new Float64Array(8).fill(20.3), quality: new Uint16Array(8).fill(Quality.good) }
  const second: ScoreTaskResult = await pool.run(more)
  t.same(Array.from(second.tagIds), [5])
  t.equal(second.model, 'anomaly-v1')
})
