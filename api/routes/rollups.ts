// /v1/rollups: rollup rows of one or many tags at 1m/1h/1d with chosen fields; JSON or
// streamed CSV. The request is refused up front when tags × buckets exceeds the bound.
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { badRequest } from '../errors.js'
import { csvStream, wantsCsv } from '../csv.js'
import { errorResponses, notFoundResponse, Query, StringEnum, Time } from '../schemas/common.js'
import { RollupItemSchema } from '../schemas/resources.js'
import { readRollupsCsv, readRollupsJson, ROLLUP_FIELDS, rollupRowBound, type RollupField } from '../store/rollups.js'
import { LEVELS, type Level } from '../store/sql.js'
import { isoOfUs, parseRange } from '../time.js'
import { tagOr404, tooLarge, type RouteOptions } from './context.js'

const MAX_TAGS = 100
/** Buckets per query when streaming CSV (each tag's range is cut into slices of this many). */
const CSV_ROWS_PER_QUERY = 20_000

export const BucketParam = StringEnum(['1m', '1h', '1d'], { description: 'bucket size: 1m, 1h or 1d' })
const FIELD = `(${ROLLUP_FIELDS.join('|')})`

const RollupsQuery = Query({
  tags: Type.String({
    pattern: `^[0-9]{1,10}(,[0-9]{1,10}){0,${MAX_TAGS - 1}}$`,
    description: `comma-separated tag ids, at most ${MAX_TAGS}`,
    'x-expected': `must be a comma-separated list of at most ${MAX_TAGS} tag ids, e.g. 1,2,3`,
    examples: ['1,2'],
  }),
  from: Time('first bucket start, inclusive'),
  to: Time('last bucket start, exclusive', 'to'),
  bucket: BucketParam,
  fields: Type.Optional(Type.String({
    pattern: `^${FIELD}(,${FIELD}){0,${ROLLUP_FIELDS.length - 1}}$`,
    description: `comma-separated, of ${ROLLUP_FIELDS.join(', ')} (default all)`,
    'x-expected': `must be a comma-separated list of ${ROLLUP_FIELDS.join(', ')}`,
  })),
})

function parseTags (s: string): number[] {
  const ids = [...new Set(s.split(',').map(Number))]
  for (const id of ids) if (id < 1 || id > 2_147_483_647) throw badRequest(`querystring/tags: ${id} is not a tag id (an integer from 1 to 2147483647)`)
  return ids
}

export async function rollupsRoutes (app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof RollupsQuery> }>('/v1/rollups', {
    schema: {
      summary: 'Rollups of tags at 1m, 1h or 1d', tags: ['rollups'], querystring: RollupsQuery,
      response: {
        200: {
          description: 'rows by tag then time, holding tag, t and the requested fields; with Accept: text/csv the same as CSV lines',
          content: {
            'application/json': { schema: Type.Object({ bucket: BucketParam, items: Type.Array(RollupItemSchema) }) },
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
    const tags = parseTags(q.tags)
    const fields = q.fields === undefined ? ROLLUP_FIELDS : [...new Set(q.fields.split(','))].sort((a, b) => ROLLUP_FIELDS.indexOf(a as RollupField) - ROLLUP_FIELDS.indexOf(b as RollupField)) as RollupField[]
    const level = q.bucket as Level
    const csv = wantsCsv(req.headers.accept)
    const max = csv ? ctx.maxCsvRows : ctx.maxRows
    const bound = rollupRowBound(level, tags.length, fromUs, toUs)
    if (bound > max) {
      throw tooLarge(`${tags.length} tag(s) × ${Math.ceil(bound / tags.length).toLocaleString('en')} ${level} buckets`, bound, max,
        `narrow the range (from/to), use a coarser bucket${level === '1d' ? '' : ` (${level === '1m' ? '1h or 1d' : '1d'})`} or ask for fewer tags${csv ? '' : `; Accept: text/csv allows up to ${ctx.maxCsvRows.toLocaleString('en')} rows`}`)
    }
    for (const id of tags) await tagOr404(ctx, id, 'querystring/tags')
    if (!csv) {
      // Serialized by readRollupsJson (see there why), in the shape the response schema documents.
      const items = await readRollupsJson(ctx.pool, level, tags, isoOfUs(fromUs), isoOfUs(toUs), fields)
      return reply.type('application/json; charset=utf-8').send(`{"bucket":"${level}","items":${items}}`)
    }
    reply.type('text/csv; charset=utf-8')
    return reply.send(csvStream(['tag', 't', ...fields], csvSlices(ctx, level, tags, fromUs, toUs, fields)))
  })
}

/** Tag by tag, the range in time slices of about CSV_ROWS_PER_QUERY buckets (one query each): rows by tag then time, as in JSON. */
async function * csvSlices (ctx: RouteOptions['ctx'], level: Level, tags: number[], fromUs: number, toUs: number, fields: readonly RollupField[]): AsyncGenerator<string> {
  const sliceUs = CSV_ROWS_PER_QUERY * LEVELS[level].us
  for (const tag of tags) {
    for (let start = fromUs; start < toUs; start += sliceUs) {
      yield await readRollupsCsv(ctx.pool, level, [tag], isoOfUs(start), isoOfUs(Math.min(toUs, start + sliceUs)), fields)
    }
  }
}
