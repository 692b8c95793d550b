// /v1/points: raw points of one tag in [from, to), paged by cursor; JSON or streamed CSV.
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { badRequest } from '../errors.js'
import { csvStream, wantsCsv } from '../csv.js'
import { Cursor, errorResponses, notFoundResponse, Query, TagId, Time } from '../schemas/common.js'
import { PointSchema } from '../schemas/resources.js'
import { decodeCursor, encodeCursor, readPointsPage, type PointPage } from '../store/points.js'
import { isoOfUs, parseRange } from '../time.js'
import { tagOr404, type RouteOptions } from './context.js'

/** Default page size of JSON responses. */
const DEFAULT_JSON_LIMIT = 1000
/** Lines per CSV chunk handed to the socket. */
const CSV_CHUNK = 8192

export async function pointsRoutes (app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const PointsQuery = Query({
    tag: TagId(),
    from: Time('start of the range, inclusive'),
    to: Time('end of the range, exclusive', 'to'),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ctx.maxCsvRows, description: `points per page: default ${DEFAULT_JSON_LIMIT}, at most ${ctx.maxRows} as JSON; with Accept: text/csv default and maximum ${ctx.maxCsvRows}` })),
    cursor: Type.Optional(Cursor),
  })

  app.get<{ Querystring: Static<typeof PointsQuery> }>('/v1/points', {
    schema: {
      summary: 'Raw points of one tag', tags: ['points'], querystring: PointsQuery,
      response: {
        200: {
          description: 'a page of points; with Accept: text/csv the lines `time,value,quality` and the next cursor in the X-Next-Cursor header',
          headers: { 'x-next-cursor': { type: 'string', description: 'CSV only: cursor of the next page (absent on the last)' } },
          content: {
            'application/json': { schema: Type.Object({ tag: Type.Integer(), items: Type.Array(PointSchema), nextCursor: Type.Unsafe<string | null>({ type: ['string', 'null'] }) }) },
            'text/csv': { schema: Type.String() },
          },
        },
        ...errorResponses,
        404: notFoundResponse,
      },
    },
  }, async (req, reply) => {
    const q = req.query
    const { fromUs, toUs } = parseRange(q)
    const csv = wantsCsv(req.headers.accept)
    if (!csv && q.limit !== undefined && q.limit > ctx.maxRows) {
      throw badRequest(`querystring/limit must be <= ${ctx.maxRows} for JSON (got ${q.limit}); page with the cursor, or ask for Accept: text/csv (up to ${ctx.maxCsvRows} rows)`)
    }
    let after
    if (q.cursor !== undefined) {
      after = decodeCursor(q.cursor)
      if (after === undefined) throw badRequest('querystring/cursor must be the nextCursor value of a previous page')
    }
    await tagOr404(ctx, q.tag)
    const page = await readPointsPage(ctx.pool, q.tag, fromUs, toUs, q.limit ?? (csv ? ctx.maxCsvRows : DEFAULT_JSON_LIMIT), after)
    const nextCursor = page.next === undefined ? null : encodeCursor(page.next)
    if (csv) {
      if (nextCursor !== null) reply.header('x-next-cursor', nextCursor)
      reply.type('text/csv; charset=utf-8')
      return reply.send(csvStream(['time', 'value', 'quality'], csvLines(page)))
    }
    const items = new Array(page.timeUs.length)
    for (let i = 0; i < items.length; i++) items[i] = { t: isoOfUs(page.timeUs[i]!), v: finiteOrNull(page.value[i]!), q: page.quality[i]! }
    return { tag: q.tag, items, nextCursor }
  })
}

/**
 * A stored value as JSON can hold it: a device can send NaN or ±Infinity (a float register of a
 * faulted sensor), which JSON has no number for; null (an empty CSV field), as in the rollups.
 */
const finiteOrNull = (v: number): number | null => Number.isFinite(v) ? v : null

async function * csvLines (page: PointPage): AsyncGenerator<string> {
  for (let start = 0; start < page.timeUs.length; start += CSV_CHUNK) {
    let chunk = ''
    const end = Math.min(page.timeUs.length, start + CSV_CHUNK)
    for (let i = start; i < end; i++) chunk += `${isoOfUs(page.timeUs[i]!)},${finiteOrNull(page.value[i]!) ?? ''},${page.quality[i]!}\r\n`
    yield chunk
  }
}
