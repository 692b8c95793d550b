// Per-source batch sequence numbers that never repeat, across restarts and crashes.
//
// The sink stamps every batch with the next seq of its source, so (source, seq) identifies a
// batch for good and a consumer can drop a resent batch by it. Seqs are handed out from
// blocks: `seq.json` records, per source, a ceiling that no seq handed out so far reaches; it is
// made durable *before* a seq from a new block is used. A restarted process starts each source
// at its ceiling, so a crash leaves a gap in a source's seqs (at most one block), never a repeat.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileDurable } from './files.js'

/** Seqs per block: one durable write per this many batches of a source. */
export const SEQ_BLOCK = 1000
const FILE = 'seq.json'

/** `durable`: the ceiling on disk; `wanted`: the ceiling the next write records. */
interface SourceSeq { next: number, durable: number, wanted: number }

export class SeqAllocator {
  readonly #file: string
  readonly #sources = new Map<string, SourceSeq>()
  #flushing: Promise<void> | undefined

  private constructor (dir: string) {
    this.#file = join(dir, FILE)
  }

  static async open (dir: string): Promise<SeqAllocator> {
    const a = new SeqAllocator(dir)
    let saved: Record<string, number> = {}
    try {
      saved = (JSON.parse(await readFile(a.#file, 'utf8')) as { ceilings: Record<string, number> }).ceilings
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
    for (const [source, ceiling] of Object.entries(saved)) a.#sources.set(source, { next: ceiling, durable: ceiling, wanted: ceiling })
    return a
  }

  /**
   * The next seq of `source` (the first is 1). Calls for one source resolve in call order.
   * Only a call that opens a new block waits for a disk write; a failed write rejects and
   * hands out nothing.
   */
  async take (source: string): Promise<number> {
    let s = this.#sources.get(source)
    if (s === undefined) {
      s = { next: 1, durable: 1, wanted: 1 }
      this.#sources.set(source, s)
    }
    while (s.next >= s.durable) {
      s.wanted = Math.max(s.wanted, s.next + SEQ_BLOCK)
      await this.#flush()
    }
    return s.next++
  }

  /** Group commit: callers that arrive while a write runs share the next one. */
  async #flush (): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing.catch(() => undefined)
    const snapshot = [...this.#sources].filter(([, s]) => s.wanted > s.durable).map(([source, s]) => [source, s.wanted] as const)
    if (snapshot.length === 0) return
    const ceilings = Object.fromEntries([...this.#sources].map(([source, s]) => [source, s.wanted]))
    this.#flushing = writeFileDurable(this.#file, JSON.stringify({ ceilings }))
    try {
      await this.#flushing
      for (const [source, wanted] of snapshot) this.#sources.get(source)!.durable = wanted
    } finally {
      this.#flushing = undefined
    }
  }
}
