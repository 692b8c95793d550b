// A flush's minute contributions (aggregate/contributions.ts) are the rows minuteRows gives for
// its samples alone, to the bit, whatever the order, quality and kind; they survive packing; and
// appending two halves of a series (aggregate/append.ts) gives the rows of the whole series.
import fc from 'fast-check'
import t from 'tap'
import { appendRows } from '../../aggregate/append.js'
import { ContributionStore, ContributionWriter, readContributions, sortByTimeThenValue } from '../../aggregate/contributions.js'
import { MINUTE_US, minuteRows, type MinuteRow, type TagProduction } from '../../aggregate/minutes.js'

const T0 = Date.UTC(2026, 10, 22, 22, 58) * 1000
const KINDS: TagProduction[] = [
  { kind: 'gauge', modulus: null, ratePeriodS: 86400 },
  { kind: 'counter', modulus: 1000, ratePeriodS: 86400 },
  { kind: 'rate', modulus: null, ratePeriodS: 3600 },
]
const sampleArb = fc.record({
  at: fc.integer({ min: 0, max: 20 * 60_000 }).map(ms => ms * 1000),
  value: fc.integer({ min: 0, max: 100_000 }).map(x => x / 100),
  bad: fc.integer({ min: 0, max: 9 }).map(x => x < 2),
})

/** The good samples, sorted as every rollup computation sorts them. */
function good (list: ReadonlyArray<{ at: number, value: number, bad: boolean }>): { t: Float64Array, v: Float64Array } {
  const g = list.filter(s => !s.bad)
  return sortByTimeThenValue(Float64Array.from(g, s => T0 + s.at), Float64Array.from(g, s => s.value))
}

function rowsAlone (p: TagProduction, t: Float64Array, v: Float64Array): MinuteRow[] {
  if (t.length === 0) return []
  return minuteRows({ tagId: 1, ...p, startUs: Math.floor(t[0]! / MINUTE_US) * MINUTE_US, endUs: Math.floor(t[t.length - 1]! / MINUTE_US) * MINUTE_US + MINUTE_US, before: null, after: null }, t, v)
}

t.test('contributions are minuteRows of the samples alone, bit for bit, through packing', async t => {
  fc.assert(fc.property(fc.array(sampleArb, { maxLength: 80 }), fc.integer({ min: 0, max: 2 }), (list, k) => {
    const p = KINDS[k]!
    const w = new ContributionWriter()
    w.add(7, p, Uint32Array.from(list.keys()).sort((a, b) => list[a]!.at - list[b]!.at), list.map(s => T0 + s.at), list.map(s => s.value), list.map(s => s.bad ? 0x18 : 0xc0))
    const got = readContributions(w.bytes()).get(7)!
    const { t: ts, v } = good(list)
    const want = rowsAlone(p, ts, v)
    if (JSON.stringify(got.rows) !== JSON.stringify(want)) throw new Error(`rows differ: ${JSON.stringify(got.rows)} vs ${JSON.stringify(want)}`)
    if (got.kind !== p.kind || got.modulus !== p.modulus || got.ratePeriodS !== p.ratePeriodS) throw new Error('production parameters lost')
  }), { numRuns: 300 })
  t.pass('300 random series')
})

t.test('appending the later half to the earlier one gives the rows of the whole', async t => {
  fc.assert(fc.property(fc.array(sampleArb, { minLength: 2, maxLength: 80 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 79 }), (list, k, cut) => {
    const p = KINDS[k]!
    const { t: ts, v } = good(list)
    let c = Math.min(cut, ts.length - 1)
    while (c > 0 && ts[c] === ts[c - 1]) c-- // the later half starts strictly after the earlier one
    fc.pre(c > 0)
    const before = rowsAlone(p, ts.subarray(0, c), v.subarray(0, c))
    const after = rowsAlone(p, ts.subarray(c), v.subarray(c))
    const joined = [...before.slice(0, -1), ...appendRows(p, before.at(-1)!, after)]
    const whole = rowsAlone(p, ts, v)
    if (joined.length !== whole.length) throw new Error(`${joined.length} rows, expected ${whole.length}`)
    joined.forEach((r, i) => {
      const e = whole[i]!
      for (const f of Object.keys(e) as Array<keyof MinuteRow>) {
        const a = r[f]
        const b = e[f]
        if (a === null || b === null ? a !== b : Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(b))) throw new Error(`row ${i} ${f}: ${a} vs ${b}`)
      }
    })
  }), { numRuns: 300 })
  t.pass('300 random series cut in two')
})

t.test('the store keeps contributions until folded, dropping the oldest past its bound', async t => {
  const s = new ContributionStore(100)
  s.put(1, new Uint8Array(60))
  s.put(2, new Uint8Array(60))
  t.equal(s.get(1), undefined, 'the oldest went when the bound was passed')
  t.equal(s.get(2)?.byteLength, 60)
  s.delete([2])
  t.equal(s.size, 0)
})
