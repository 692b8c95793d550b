// Shared by the fuzz tests: one seed per process (printed, so a failure reproduces with
// FUZZ_SEED=<seed>), fixed run counts, a per-call time bound, and the typed-error check.
import fc from 'fast-check'
import { FsError } from '../../schemas/errors.js'

/** FUZZ_SEED=<n> replays a run; otherwise a fresh seed each time, printed by fuzzParams. */
export const SEED = process.env.FUZZ_SEED === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0 : Number(process.env.FUZZ_SEED)

/** FUZZ_SCALE=10 runs ten times as many cases (for a long local session; CI uses 1). */
const SCALE = Number(process.env.FUZZ_SCALE ?? '1')

/**
 * Most a single call of a parser may take on a few KB of input, ms. Generous because the
 * machine is shared and GC pauses land anywhere; what it catches is quadratic blow-ups and
 * loops that take seconds, not a slow run.
 */
export const CALL_BOUND_MS = 2000

interface Comments { comment (...args: unknown[]): void }

/** Parameters for fc.assert: fixed runs, the shared seed, and a total time budget that fails the property when spent. */
export function fuzzParams<Ts = unknown> (t: Comments, name: string, numRuns: number): fc.Parameters<Ts> {
  const runs = Math.max(1, Math.round(numRuns * SCALE))
  t.comment(`${name}: ${runs} runs, seed ${SEED} (replay with FUZZ_SEED=${SEED})`)
  // A budget far above the expected few seconds: hitting it means something got slow, so it
  // counts as a failure rather than silently running fewer cases.
  return { seed: SEED, numRuns: runs, interruptAfterTimeLimit: 60_000 * SCALE, markInterruptAsFailure: true }
}

/** Run `fn`, failing when it takes longer than `boundMs`. */
export function timed<T> (what: string, fn: () => T, boundMs = CALL_BOUND_MS): T {
  const t0 = performance.now()
  try {
    return fn()
  } finally {
    const ms = performance.now() - t0
    if (ms > boundMs) throw new Error(`${what} took ${ms.toFixed(0)} ms (bound ${boundMs} ms): a hang or blow-up`)
  }
}

export type Outcome<T> = { ok: true, value: T } | { ok: false, error: FsError }

/**
 * Call `fn`: a value, or one of the `allowed` typed errors. Anything else thrown (a TypeError,
 * a RangeError from protobufjs, an FsError of another kind) fails the property, named.
 */
export function typedOutcome<T> (fn: () => T, allowed: ReadonlyArray<abstract new (...args: never[]) => FsError>, what = 'call', boundMs = CALL_BOUND_MS): Outcome<T> {
  try {
    return { ok: true, value: timed(what, fn, boundMs) }
  } catch (err) {
    if (allowed.some(cls => err instanceof cls) && typeof (err as FsError).code === 'string' && (err as Error).message !== '') {
      return { ok: false, error: err as FsError }
    }
    const e = err as Error
    throw new Error(`untyped throw from ${what}: ${e?.constructor?.name ?? typeof err}: ${e?.message ?? String(err)}`, { cause: err })
  }
}

/** Byte-level mutations of a valid input: the cases a plain random generator almost never reaches. */
export type Mutation =
  | { kind: 'flip', at: number, bit: number }
  | { kind: 'set', at: number, byte: number }
  | { kind: 'truncate', at: number }
  | { kind: 'extend', bytes: Uint8Array }
  | { kind: 'insert', at: number, bytes: Uint8Array }
  | { kind: 'delete', at: number, count: number }
  | { kind: 'splice', at: number, otherAt: number }

/** One to four mutations; positions are fractions so they fit any input length. */
export function mutationsArb (): fc.Arbitrary<Mutation[]> {
  const frac = fc.nat({ max: 1_000_000 })
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: frac, bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: frac, byte: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: frac }),
    fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: frac, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: frac, count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('splice' as const), at: frac, otherAt: frac }),
  )
  return fc.array(one, { minLength: 1, maxLength: 4 })
}

const pos = (f: number, length: number): number => Math.floor((f / 1_000_001) * length)

/** Apply mutations to `input`; `other` (another valid input) is what a splice takes its tail from. */
export function mutate (input: Uint8Array, mutations: readonly Mutation[], other: Uint8Array = input): Buffer {
  let b = Buffer.from(input)
  for (const m of mutations) {
    switch (m.kind) {
      case 'flip': if (b.length > 0) b[pos(m.at, b.length)]! ^= 1 << m.bit; break
      case 'set': if (b.length > 0) b[pos(m.at, b.length)] = m.byte; break
      case 'truncate': b = b.subarray(0, pos(m.at, b.length)); break
      case 'extend': b = Buffer.concat([b, m.bytes]); break
      case 'insert': { const at = pos(m.at, b.length + 1); b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]); break }
      case 'delete': { const at = pos(m.at, b.length); b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]); break }
      case 'splice': b = Buffer.concat([b.subarray(0, pos(m.at, b.length + 1)), other.subarray(pos(m.otherAt, other.length + 1))]); break
    }
  }
  return Buffer.from(b)
}
