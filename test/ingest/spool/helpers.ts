// Spool test plumbing: a temp folder, spool options, a logger that keeps its lines.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../../../common/log.js'
import type { SpoolOptions } from '../../../ingest/spool/index.js'

export interface CapturedLog extends Logger { lines: string[] }

export function captureLog (): CapturedLog {
  const lines: string[] = []
  const at = (level: string) => (m: string): void => { lines.push(`${level} ${m}`) }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

export function spoolOptions (o: Partial<SpoolOptions> = {}): SpoolOptions {
  return { dir: mkdtempSync(join(tmpdir(), 'fs-spool-')), maxBytes: 1 << 20, segmentBytes: 4096, policy: 'reject-new', fsync: 'write', fsyncIntervalMs: 50, ...o }
}

/** A spool entry whose value says which one it is. */
export function entry (source: string, seq: number, bytes = 100): { source: string, seq: number, value: Buffer } {
  const value = Buffer.alloc(bytes, seq % 256)
  value.write(`${source}#${seq}`)
  return { source, seq, value }
}
