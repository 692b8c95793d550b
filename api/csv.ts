// Streaming CSV (RFC 4180): a header line, then rows produced chunk by chunk from an async
// source, so a large export holds one chunk in memory and follows the socket's pace
// (Readable.from waits for the consumer before pulling the next chunk).
import { Readable } from 'node:stream'

export type CsvValue = string | number | null | undefined

/** A field as CSV: empty for null, quoted when it holds a comma, quote or line break. */
export function csvField (v: CsvValue): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : ''
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v
}

export const csvLine = (values: readonly CsvValue[]): string => values.map(csvField).join(',') + '\r\n'

/** A Readable of the header then each chunk of lines the source yields. */
export function csvStream (header: readonly string[], chunks: AsyncIterable<string>): Readable {
  async function * all (): AsyncGenerator<string> {
    yield csvLine(header)
    for await (const chunk of chunks) if (chunk.length > 0) yield chunk
  }
  return Readable.from(all(), { objectMode: false })
}

/** True when the client asked for CSV (Accept: text/csv, with a quality at least that of application/json). */
export function wantsCsv (accept: string | undefined): boolean {
  if (accept === undefined || !accept.includes('text/csv')) return false
  const types = accept.split(',').map(s => s.trim().split(';'))
  const q = (name: string): number => {
    const t = types.find(p => p[0]!.trim() === name)
    if (t === undefined) return -1
    const qp = t.slice(1).find(p => p.trim().startsWith('q='))
    return qp === undefined ? 1 : Number(qp.trim().slice(2)) || 0
  }
  const csv = q('text/csv')
  return csv > 0 && csv >= q('application/json')
}
