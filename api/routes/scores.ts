// /v1/scores (anomaly scores of a tag) and /v1/alerts (open, closed or all).
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { errorResponses, notFoundResponse, Query, StringEnum, TagId, Text, Time } from '../schemas/common.js'
import { AlertSchema, ScoreSchema } from '../schemas/resources.js'
import { readAlerts, readScores } from '../store/scores.js'
import { isoOfUs, parseRange, parseTime } from '../time.js'
import { badRequest } from '../errors.js'
import { tagOr404, tooLarge, type RouteOptions } from './context.js'

const ScoresQuery = Query({
  tag: TagId(),
  from: Time('start of the range, inclusive'),
  to: Time('end of the range, exclusive', 'to'),
})

export async function scoresRoutes (app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const AlertsQuery = Query({
    state: Type.Optional(StringEnum(['open', 'closed', 'all'], { default: 'all', description: 'open, closed or all' })),
    asset: Type.Optional(Text('asset name')),
    tag: Type.Optional(TagId()),
    from: Type.Optional(Time('alerts still open at or after this time')),
    to: Type.Optional(Time('alerts opened before this time', 'to')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ctx.maxRows, default: 100, description: 'newest first, at most this many' })),
  })

  app.get<{ Querystring: Static<typeof ScoresQuery> }>('/v1/scores', {
    schema: { summary: 'Anomaly scores of a tag', tags: ['anomalies'], querystring: ScoresQuery, response: { 200: Type.Object({ items: Type.Array(ScoreSchema) }), ...errorResponses, 404: notFoundResponse } },
  }, async req => {
    const q = req.query
    const { fromUs, toUs } = parseRange(q)
    await tagOr404(ctx, q.tag)
    const items = await readScores(ctx.pool, q.tag, isoOfUs(fromUs), isoOfUs(toUs), ctx.maxRows + 1)
    if (items.length > ctx.maxRows) throw tooLarge('these scores', items.length, ctx.maxRows, 'narrow the range (from/to)')
    return { items }
  })

  app.get<{ Querystring: Static<typeof AlertsQuery> }>('/v1/alerts', {
    schema: { summary: 'Alerts, newest first', tags: ['anomalies'], querystring: AlertsQuery, response: { 200: Type.Object({ items: Type.Array(AlertSchema) }), ...errorResponses } },
  }, async req => {
    const q = req.query
    const fromUs = q.from === undefined ? undefined : parseTime(q.from, 'from')
    const toUs = q.to === undefined ? undefined : parseTime(q.to, 'to')
    if (fromUs !== undefined && toUs !== undefined && fromUs >= toUs) throw badRequest(`querystring/from must be before querystring/to (got from ${isoOfUs(fromUs)}, to ${isoOfUs(toUs)})`)
    const items = await readAlerts(ctx.pool, {
      state: q.state ?? 'all', asset: q.asset, tag: q.tag,
      from: fromUs === undefined ? undefined : isoOfUs(fromUs), to: toUs === undefined ? undefined : isoOfUs(toUs),
      limit: q.limit ?? 100,
    })
    return { items }
  })
}
