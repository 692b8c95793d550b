// The on-disk spool: an append-only queue of batches in segment files, with a durable cursor.
//
//   <dir>/seg-0000000000000007.log   records (record.ts), appended; one active segment at a time
//   <dir>/cursor.json                {segment, offset, sendingSinceMs}: where unsent records start
//   <dir>/seq.json                   per-source seq ceilings (seq.ts)
//   <dir>/lock                       pid of the process using the spool
//
// Readers never move the cursor: the sink reads a chunk from the cursor, sends it, then
// commits. A crash between the Kafka ack and the commit leaves the chunk unsent in the
// spool; `sendingSinceMs` (the earliest start of a send of any record at or after the cursor)
// tells the sink how far back in Kafka to look for such records before sending them again.
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { open, readFile, truncate, unlink, writeFile, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../../common/log.js'
import type { SpoolPolicy } from '../../schemas/config/spool.js'
import { SpoolCorrupt, SpoolFull, SpoolLocked } from './errors.js'
import { syncDir, writeFileDurable } from './files.js'
import { encodeRecord, parseRecord, type SpoolEntry, type SpoolRecord } from './record.js'

export interface SpoolOptions {
  dir: string
  maxBytes: number
  segmentBytes: number
  policy: SpoolPolicy
  fsync: 'write' | 'interval'
  fsyncIntervalMs: number
}

/** A place in the spool: byte offset in a segment. Compared segment first. */
export interface Position { segment: number, offset: number }

export interface ReadRecord extends SpoolRecord {
  /** Position just after this record: commit it to mark the record sent. */
  end: Position
}

export interface SpoolStats {
  /** Batches in the spool not yet sent (including those still being written). */
  pendingBatches: number
  /** Bytes of all segment files, including writes in progress. */
  bytes: number
  segments: number
  /** Batches appended since open. */
  appended: number
  /** Appends refused because the spool was full (policy reject-new). */
  rejectedFull: number
  /** Unsent batches evicted because the spool was full (policy drop-oldest). */
  droppedBatches: number
  droppedSegments: number
  /** Bytes cut from a torn segment tail at open (a crash during a write). */
  truncatedBytes: number
  /** Bytes set aside because a segment was corrupt before its end (FS_SPOOL_CORRUPT). */
  corruptBytes: number
}

interface Segment { id: number, file: string, bytes: number, records: number }

interface CursorFile { segment: number, offset: number, sendingSinceMs: number | null }

const SEGMENT_NAME = /^seg-(\d{16})\.log$/
const READ_CHUNK_BYTES = 1024 * 1024

export function comparePositions (a: Position, b: Position): number {
  return a.segment - b.segment || a.offset - b.offset
}

export class Spool {
  readonly #o: SpoolOptions
  readonly #log: Logger
  readonly #segments: Segment[] = []
  readonly stats: SpoolStats
  #cursor: Position = { segment: 0, offset: 0 }
  /** Records of the cursor's segment that lie before the cursor. */
  #consumedInCursorSegment = 0
  #sendingSinceMs: number | null = null
  #active: { seg: Segment, fh: FileHandle } | undefined
  #queue: Array<{ buf: Buffer, resolve: () => void, reject: (err: Error) => void }> = []
  #queuedBytes = 0
  #writing: Promise<void> | undefined
  #syncDue = false
  #timer: NodeJS.Timeout | undefined
  #cursorWrite: Promise<void> = Promise.resolve()
  #closed = false

  private constructor (o: SpoolOptions, log: Logger) {
    this.#o = o
    this.#log = log
    this.stats = { pendingBatches: 0, bytes: 0, segments: 0, appended: 0, rejectedFull: 0, droppedBatches: 0, droppedSegments: 0, truncatedBytes: 0, corruptBytes: 0 }
  }

  /** Open (creating) the spool in o.dir: check every segment, cut a torn tail, find the cursor. */
  static async open (o: SpoolOptions, log: Logger): Promise<Spool> {
    const s = new Spool(o, log)
    mkdirSync(o.dir, { recursive: true })
    takeLock(o.dir)
    const saved = await readCursor(o.dir, log)
    const ids = readdirSync(o.dir).map(n => SEGMENT_NAME.exec(n)?.[1]).filter((m): m is string => m !== undefined).map(Number).sort((a, b) => a - b)
    for (const [i, id] of ids.entries()) s.#segments.push(await s.#scan(id, i === ids.length - 1, saved))
    const first = s.#segments[0]
    const last = s.#segments.at(-1)
    if (first === undefined || last === undefined) {
      // Nothing spooled; keep the segment numbering moving forward (see #roll).
      s.#cursor = { segment: saved?.segment ?? 0, offset: 0 }
    } else if (saved !== undefined && saved.segment <= last.id) {
      // A cursor before the first segment: segments it pointed into were evicted (drop-oldest).
      s.#cursor = saved.segment >= first.id ? { segment: saved.segment, offset: saved.offset } : { segment: first.id, offset: 0 }
      s.#sendingSinceMs = saved.sendingSinceMs
    } else {
      s.#cursor = { segment: first.id, offset: 0 }
      // Without a usable cursor nobody knows what was sent: the sink looks back over all of Kafka.
      s.#sendingSinceMs = 0
      log.warn(`spool ${o.dir}: no usable cursor file; every spooled batch is checked against Kafka before it is sent`)
    }
    s.#consumedInCursorSegment = await s.#countRecordsBefore(s.#cursor)
    for (const seg of s.#segments) s.stats.pendingBatches += seg.records
    s.stats.pendingBatches -= s.#consumedInCursorSegment
    s.#refreshSizeStats()
    if (o.fsync === 'interval') {
      s.#timer = setInterval(() => { s.#syncDue = true; s.#kick() }, o.fsyncIntervalMs)
      s.#timer.unref()
    }
    return s
  }

  get sendingSinceMs (): number | null { return this.#sendingSinceMs }

  /**
   * Resolves once the records appended so far are in their segment files, where read() sees
   * them. Appended records count as pending at once, so a reader that has caught up with the
   * writer gets [] from read() while the spool is not empty: it must wait here.
   */
  async written (): Promise<void> {
    while (this.#writing !== undefined) await this.#writing
  }
  get cursor (): Position { return { ...this.#cursor } }
  get empty (): boolean { return this.stats.pendingBatches === 0 }

  /**
   * Append one batch. Resolves when it is written (and fsynced with fsync: write).
   * Throws SpoolFull when it does not fit and the policy is reject-new.
   */
  async append (entry: SpoolEntry): Promise<void> {
    if (this.#closed) throw new Error('spool is closed')
    const buf = encodeRecord(entry, Date.now())
    this.#makeRoom(buf.length, entry)
    this.#queuedBytes += buf.length
    this.stats.pendingBatches++
    this.stats.appended++
    this.#refreshSizeStats()
    return new Promise((resolve, reject) => {
      this.#queue.push({ buf, resolve, reject })
      this.#kick()
    })
  }

  /**
   * Up to `max` unsent records from the cursor on (up to ~maxBytes of them), oldest first.
   * Throws SpoolCorrupt when a record fails its checksum (the disk changed under us).
   */
  async read (max: number, maxBytes = 16 * READ_CHUNK_BYTES): Promise<ReadRecord[]> {
    const out: ReadRecord[] = []
    let bytes = 0
    let pos = { ...this.#cursor }
    let index = this.#segments.findIndex(seg => seg.id === pos.segment)
    while (out.length < max && bytes < maxBytes && index >= 0 && index < this.#segments.length) {
      const seg = this.#segments[index]!
      if (pos.offset >= seg.bytes) {
        index++
        pos = { segment: this.#segments[index]?.id ?? pos.segment, offset: 0 }
        continue
      }
      const fh = await open(seg.file, 'r')
      try {
        while (out.length < max && bytes < maxBytes && pos.offset < seg.bytes) {
          let buf = await readAt(fh, pos.offset, Math.min(READ_CHUNK_BYTES, seg.bytes - pos.offset))
          let at = 0
          for (;;) {
            const parsed = parseRecord(buf, at)
            if (parsed.kind === 'short') {
              if (at > 0) break
              if (pos.offset + parsed.bytes > seg.bytes) throw new SpoolCorrupt(`spool segment ${seg.file}: record at offset ${pos.offset} runs past the end of the segment`)
              buf = await readAt(fh, pos.offset, parsed.bytes)
              continue
            }
            if (parsed.kind === 'bad') throw new SpoolCorrupt(`spool segment ${seg.file}: record at offset ${pos.offset + at} is corrupt (${parsed.why}); sending stopped here. Move the file aside and restart the collector to skip it`)
            at += parsed.bytes
            bytes += parsed.bytes
            out.push({ ...parsed.record, end: { segment: seg.id, offset: pos.offset + at } })
            if (out.length >= max || bytes >= maxBytes || pos.offset + at >= seg.bytes) break
          }
          pos = { segment: seg.id, offset: pos.offset + at }
        }
      } finally {
        await fh.close()
      }
    }
    return out
  }

  /**
   * Mark records (read from this spool, oldest first) as sent: move the cursor past the last
   * one, delete segments left behind, and make the cursor durable.
   * `sendingSinceMs`: see the file comment; null once nothing unsent has been sent.
   */
  async commit (records: readonly ReadRecord[], sendingSinceMs: number | null): Promise<void> {
    const last = records.at(-1)
    if (last === undefined || comparePositions(last.end, this.#cursor) <= 0) return
    for (const r of records) {
      if (comparePositions(r.end, this.#cursor) <= 0) continue // evicted while it was being sent
      this.stats.pendingBatches--
      if (r.end.segment === this.#cursor.segment) this.#consumedInCursorSegment++
      else this.#consumedInCursorSegment = 1
      this.#cursor = r.end
    }
    this.#sendingSinceMs = this.empty ? null : sendingSinceMs
    const done: Segment[] = []
    for (;;) {
      const seg = this.#segments[0]
      if (seg === undefined || seg === this.#active?.seg || seg.id > this.#cursor.segment) break
      if (seg.id === this.#cursor.segment && this.#cursor.offset < seg.bytes) break
      done.push(this.#segments.shift()!)
      const next = this.#segments[0]
      if (next !== undefined && seg.id === this.#cursor.segment) {
        this.#cursor = { segment: next.id, offset: 0 }
        this.#consumedInCursorSegment = 0
      }
    }
    this.#refreshSizeStats()
    await this.#persistCursor()
    for (const seg of done) await unlink(seg.file)
  }

  /** Record that a send of records not yet committed began at `ms` (kept if an earlier one is known). */
  async noteSendStarted (ms: number): Promise<void> {
    if (this.#sendingSinceMs !== null && this.#sendingSinceMs <= ms) return
    this.#sendingSinceMs = ms
    await this.#persistCursor()
  }

  /** Write and fsync what is queued, close files, release the folder. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    while (this.#writing !== undefined) await this.#writing
    if (this.#active !== undefined) {
      await this.#active.fh.sync()
      await this.#active.fh.close()
      this.#active = undefined
    }
    await this.#cursorWrite
    unlinkSync(join(this.#o.dir, 'lock'))
  }

  #makeRoom (bytes: number, entry: SpoolEntry): void {
    if (bytes > this.#o.segmentBytes) {
      this.stats.rejectedFull++
      throw new SpoolFull(`batch ${entry.seq} of ${entry.source} is ${bytes} bytes, larger than a spool segment (collectors.spool.segmentMB)`)
    }
    while (this.stats.bytes + bytes > this.#o.maxBytes) {
      const oldest = this.#segments[0]
      // maxMB >= 2 x segmentMB (checked with the config), so a full spool has a segment to evict.
      if (this.#o.policy === 'reject-new' || oldest === undefined || oldest === this.#active?.seg || this.#segments.length < 2) {
        this.stats.rejectedFull++
        throw new SpoolFull(`spool ${this.#o.dir} is full (${this.stats.bytes} of ${this.#o.maxBytes} bytes, ${this.stats.pendingBatches} batches unsent; collectors.spool.maxMB): batch ${entry.seq} of ${entry.source} was not kept`)
      }
      this.#evict(oldest)
    }
  }

  /** drop-oldest: remove the oldest segment and everything unsent in it. */
  #evict (seg: Segment): void {
    this.#segments.shift()
    const unsent = seg.id < this.#cursor.segment ? 0 : seg.id === this.#cursor.segment ? seg.records - this.#consumedInCursorSegment : seg.records
    const next = this.#segments[0]!
    if (comparePositions(this.#cursor, { segment: next.id, offset: 0 }) < 0) {
      this.#cursor = { segment: next.id, offset: 0 }
      this.#consumedInCursorSegment = 0
    }
    this.stats.pendingBatches -= unsent
    this.stats.droppedBatches += unsent
    this.stats.droppedSegments++
    this.#refreshSizeStats()
    this.#log.warn(`spool ${this.#o.dir} is full (collectors.spool.maxMB, policy drop-oldest): dropped segment ${seg.id} with ${unsent} unsent batches (${this.stats.droppedBatches} dropped so far)`)
    // The cursor first: a crash in between must not leave it in a deleted segment's place.
    void this.#persistCursor().then(async () => await unlink(seg.file)).catch(err => this.#log.error(`spool: cannot delete ${seg.file}: ${(err as Error).message}`))
  }

  #kick (): void {
    if (this.#writing !== undefined || (this.#queue.length === 0 && !this.#syncDue)) return
    this.#writing = this.#writeLoop().finally(() => { this.#writing = undefined; this.#kick() })
  }

  /** The one writer: appends queued records in order; with fsync: write, one fsync per group. */
  async #writeLoop (): Promise<void> {
    while (this.#queue.length > 0 || this.#syncDue) {
      const group = this.#queue.splice(0)
      try {
        for (const item of group) {
          if (this.#active === undefined || this.#active.seg.bytes + item.buf.length > this.#o.segmentBytes) await this.#roll()
          const a = this.#active!
          await a.fh.write(item.buf, 0, item.buf.length, a.seg.bytes)
          a.seg.bytes += item.buf.length
          a.seg.records++
          this.#queuedBytes -= item.buf.length
        }
        if ((this.#o.fsync === 'write' && group.length > 0) || this.#syncDue) {
          this.#syncDue = false
          await this.#active?.fh.sync()
        }
        for (const item of group) item.resolve()
      } catch (err) {
        for (const item of group) item.reject(err as Error)
      }
    }
  }

  /** Close the active segment (durably) and start the next one. */
  async #roll (): Promise<void> {
    if (this.#active !== undefined) {
      await this.#active.fh.sync()
      await this.#active.fh.close()
    }
    const id = Math.max(this.#segments.at(-1)?.id ?? 0, this.#cursor.segment) + 1
    const seg: Segment = { id, file: segmentFile(this.#o.dir, id), bytes: 0, records: 0 }
    const fh = await open(seg.file, 'wx')
    await syncDir(this.#o.dir)
    this.#segments.push(seg)
    if (this.#segments.length === 1) this.#cursor = { segment: id, offset: 0 }
    this.#active = { seg, fh }
  }

  /** Check one segment; the last may end in a torn record (crash mid-write), which is cut off. */
  async #scan (id: number, last: boolean, saved: CursorFile | undefined): Promise<Segment> {
    const file = segmentFile(this.#o.dir, id)
    const data = await readFile(file)
    let at = 0
    let records = 0
    for (;;) {
      if (at === data.length) break
      const parsed = parseRecord(data, at)
      if (parsed.kind === 'record') { at += parsed.bytes; records++; continue }
      const why = parsed.kind === 'short' ? 'incomplete record' : parsed.why
      const cut = data.length - at
      if (last) {
        this.stats.truncatedBytes += cut
        this.#log.warn(`spool ${file}: torn tail at offset ${at} (${why}), truncated ${cut} bytes: the collector stopped during a write; those batches were never acknowledged to it`)
      } else {
        // Not the tail: data after it cannot be trusted to start on a record boundary. Keep it
        // beside the spool for inspection; never skip it silently.
        const aside = `${file}.corrupt-at-${at}`
        await writeFile(aside, data.subarray(at))
        this.stats.corruptBytes += cut
        this.#log.error(`FS_SPOOL_CORRUPT: spool ${file} is corrupt at offset ${at} (${why}); the ${cut} bytes after it are moved to ${aside} and will not be sent`)
      }
      await truncate(file, at)
      break
    }
    if (saved !== undefined && saved.segment === id && saved.offset > at) saved.offset = at
    return { id, file, bytes: at, records }
  }

  async #countRecordsBefore (pos: Position): Promise<number> {
    const seg = this.#segments.find(s => s.id === pos.segment)
    if (seg === undefined || pos.offset === 0) return 0
    const data = await readFile(seg.file)
    let at = 0
    let n = 0
    while (at < pos.offset) {
      const parsed = parseRecord(data, at)
      if (parsed.kind !== 'record' || at + parsed.bytes > pos.offset) break
      at += parsed.bytes
      n++
    }
    if (at !== pos.offset) {
      // A cursor inside a record cannot be trusted: resend that record rather than lose it.
      this.#log.warn(`spool ${seg.file}: cursor offset ${pos.offset} is not on a record boundary; resuming at ${at}`)
      this.#cursor = { segment: pos.segment, offset: at }
    }
    return n
  }

  #persistCursor (): Promise<void> {
    const body: CursorFile = { ...this.#cursor, sendingSinceMs: this.#sendingSinceMs }
    this.#cursorWrite = this.#cursorWrite.catch(() => undefined).then(async () => await writeFileDurable(join(this.#o.dir, 'cursor.json'), JSON.stringify(body)))
    return this.#cursorWrite
  }

  #refreshSizeStats (): void {
    this.stats.segments = this.#segments.length
    this.stats.bytes = this.#segments.reduce((sum, s) => sum + s.bytes, 0) + this.#queuedBytes
  }
}

function segmentFile (dir: string, id: number): string {
  return join(dir, `seg-${String(id).padStart(16, '0')}.log`)
}

async function readAt (fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  const { bytesRead } = await fh.read(buf, 0, length, position)
  return buf.subarray(0, bytesRead)
}

async function readCursor (dir: string, log: Logger): Promise<CursorFile | undefined> {
  let text: string
  try {
    text = await readFile(join(dir, 'cursor.json'), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    const c = JSON.parse(text) as CursorFile
    if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset) && (c.sendingSinceMs === null || typeof c.sendingSinceMs === 'number')) return c
  } catch {}
  log.warn(`spool ${dir}: cursor.json is unreadable (${JSON.stringify(text.slice(0, 80))}); starting from the oldest segment`)
  return undefined
}

/** One process per spool folder; a lock left by a dead process (SIGKILL) is taken over. */
function takeLock (dir: string): void {
  const file = join(dir, 'lock')
  let holder: number | undefined
  try {
    holder = Number(readFileSync(file, 'utf8'))
  } catch {}
  if (holder !== undefined && holder !== process.pid && Number.isSafeInteger(holder) && holder > 0 && isAlive(holder)) {
    throw new SpoolLocked(`spool ${dir} is in use by process ${holder} (collectors.spool.dir must differ per collector)`)
  }
  writeFileSync(file, String(process.pid))
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
