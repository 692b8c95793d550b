// Sparkplug sequence numbers per edge node session (spec 6.4.4 / 7.x): every message after
// NBIRTH carries seq 0..255, wrapping. A message ahead of the expected seq waits up to the
// reorder timeout for the missing ones (another path through a broker cluster may be slower);
// when they do not come, the held messages are released in order and the gap is reported.
import { SEQ_MODULUS } from '../../schemas/sparkplug/topic.js'

/** Messages within this distance ahead are "future" (held); the rest of the ring is "late". */
const AHEAD_WINDOW = SEQ_MODULUS / 2

export class SeqTracker<T> {
  readonly #timeoutMs: number
  readonly #onGap: (released: T[]) => void
  #expected = 0
  readonly #held = new Map<number, T>()
  #timer: NodeJS.Timeout | undefined

  /** onGap gets the held messages in seq order once the missing ones are given up on. */
  constructor (timeoutMs: number, onGap: (released: T[]) => void) {
    this.#timeoutMs = timeoutMs
    this.#onGap = onGap
  }

  /** A birth set the sequence: the next message must carry `seq + 1`. Held messages belong to the old session. */
  reset (seq: number): void {
    this.#expected = (seq + 1) % SEQ_MODULUS
    this.#held.clear()
    this.#clearTimer()
  }

  /**
   * The messages that can be processed now, in order. A late message (behind the expected seq,
   * e.g. after its gap was given up on) is returned as is: its data is still good.
   */
  accept (seq: number, item: T): T[] {
    if (seq === this.#expected) {
      const ready = [item]
      this.#expected = (seq + 1) % SEQ_MODULUS
      for (let next = this.#held.get(this.#expected); next !== undefined; next = this.#held.get(this.#expected)) {
        this.#held.delete(this.#expected)
        ready.push(next)
        this.#expected = (this.#expected + 1) % SEQ_MODULUS
      }
      if (this.#held.size === 0) this.#clearTimer()
      return ready
    }
    const ahead = (seq - this.#expected + SEQ_MODULUS) % SEQ_MODULUS
    if (ahead >= AHEAD_WINDOW) return [item]
    this.#held.set(seq, item)
    if (this.#timeoutMs === 0) this.#giveUp()
    else this.#timer ??= setTimeout(() => this.#giveUp(), this.#timeoutMs)
    return []
  }

  /** Stop the reorder timer (the session ends). */
  close (): void {
    this.#held.clear()
    this.#clearTimer()
  }

  #giveUp (): void {
    this.#timer = undefined
    const seqs = [...this.#held.keys()].sort((a, b) => distance(this.#expected, a) - distance(this.#expected, b))
    const released = seqs.map(s => this.#held.get(s)!)
    this.#held.clear()
    this.#expected = (seqs.at(-1)! + 1) % SEQ_MODULUS
    this.#onGap(released)
  }

  #clearTimer (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}

function distance (from: number, to: number): number {
  return (to - from + SEQ_MODULUS) % SEQ_MODULUS
}
