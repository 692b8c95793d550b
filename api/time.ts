// Times in and out of the API. In: ISO-8601 (`2026-11-23`, `2026-11-23T10:00Z`,
// `2026-11-23T10:00:00.123456+02:00`; no offset means UTC) or epoch milliseconds. Out:
// ISO-8601 in UTC, with microseconds when the stored time has them. Internally µs since the
// Unix epoch, the store's resolution.
import { badRequest } from './errors.js'

/** The schema-level shape check (the calendar check happens in parseTime). */
export const TIME_PATTERN = '^(-?[0-9]{1,15}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]{1,9})?)?(Z|z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?)$'
export const TIME_EXPECTED = 'must be an ISO-8601 time or epoch ms'

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|([+-])(\d{2}):?(\d{2})?)?)?$/
/** Years 0001-9999 in µs fit a double exactly; PostgreSQL accepts them all. */
const MIN_US = -62_135_596_800_000_000 // 0001-01-01T00:00:00Z
const MAX_US = Date.UTC(9999, 11, 31, 23, 59, 59, 999) * 1000

/** Parse a query time to µs since the epoch, or throw a 400 naming `field`. */
export function parseTime (value: string | number, field: string): number {
  const s = String(value)
  let us: number | undefined
  if (/^-?\d{1,15}$/.test(s)) {
    us = Number(s) * 1000
  } else {
    const m = ISO.exec(s)
    if (m !== null) {
      const [y, mo, d, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(x => x === undefined ? undefined : Number(x)) as number[]
      const days = new Date(Date.UTC(2000, mo!, 0)).getUTCDate() // days in month mo of a leap year
      const feb29 = mo === 2 && d === 29 && !((y! % 4 === 0 && y! % 100 !== 0) || y! % 400 === 0)
      if (y! >= 1 && mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= days && !feb29 && h <= 23 && mi <= 59 && sec <= 59) {
        const fracUs = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1e6 + 1e-7)
        const offH = m[10] === undefined ? 0 : Number(m[10])
        const offM = m[11] === undefined ? 0 : Number(m[11])
        if (offH <= 23 && offM <= 59) {
          const sign = m[9] === '-' ? -1 : 1
          const utc = new Date(0)
          utc.setUTCFullYear(y!, mo! - 1, d!)
          utc.setUTCHours(h, mi, sec, 0)
          us = utc.getTime() * 1000 + fracUs - sign * (offH * 60 + offM) * 60_000_000
        }
      }
    }
  }
  if (us === undefined || !Number.isFinite(us)) throw badRequest(`querystring/${field} ${TIME_EXPECTED} (got ${JSON.stringify(s.slice(0, 64))})`)
  if (us < MIN_US || us > MAX_US) throw badRequest(`querystring/${field} is outside the years 0001-9999`)
  return us
}

/** Both ends of a range, checked: from < to. */
export function parseRange (q: { from: string | number, to: string | number }): { fromUs: number, toUs: number } {
  const fromUs = parseTime(q.from, 'from')
  const toUs = parseTime(q.to, 'to')
  if (fromUs >= toUs) throw badRequest(`querystring/from must be before querystring/to (got from ${isoOfUs(fromUs)}, to ${isoOfUs(toUs)})`)
  return { fromUs, toUs }
}

/** ISO-8601 UTC; 3 fraction digits, or 6 when the time has microseconds. */
export function isoOfUs (us: number): string {
  const ms = Math.floor(us / 1000)
  const iso = new Date(ms).toISOString()
  const sub = us - ms * 1000
  return sub === 0 ? iso : `${iso.slice(0, -1)}${String(Math.round(sub)).padStart(3, '0')}Z`
}

