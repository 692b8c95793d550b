// /v1/series: about N bins of one tag over any range, for charts (see store/series.ts).
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { errorResponses, notFoundResponse, Query, StringEnum, TagId, Time } from '../schemas/common.js'
import { SeriesBinSchema } from '../schemas/resources.js'
import { planSeries, readSeries } from '../store/series.js'
import { isoOfUs, parseRange } from '../time.js'
import { tagOr404, type RouteOptions } from './context.js'

export async function seriesRoutes (app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  const SeriesQuery = Query({
    tag: TagId(),
    from: Time('start of the range, inclusive'),
    to: Time('end of the range, exclusive', 'to'),
    points: Type.Optional(Type.Integer({ minimum: 1, maximum: ctx.maxRows, default: 1000, description: 'about how many bins to return' })),
  })
  const SeriesResponse = Type.Object({
    tag: Type.Integer(),
    level: StringEnum(['raw', '1m', '1h', '1d'], { description: 'the store level the bins were computed from' }),
    binSeconds: Type.Number({ description: 'bin width; bins start at multiples of it since the Unix epoch' }),
    items: Type.Array(SeriesBinSchema, { description: 'non-empty bins in time order; min and max over the bin, so spikes stay visible' }),
  })

  app.get<{ Querystring: Static<typeof SeriesQuery> }>('/v1/series', {
    schema: { summary: 'Chart series: about N bins over any range', tags: ['series'], querystring: SeriesQuery, response: { 200: SeriesResponse, ...errorResponses, 404: notFoundResponse } },
  }, async req => {
    const q = req.query
    const { fromUs, toUs } = parseRange(q)
    await tagOr404(ctx, q.tag)
    const plan = planSeries(fromUs, toUs, q.points ?? 1000)
    const bins = await readSeries(ctx.pool, q.tag, fromUs, toUs, plan)
    return {
      tag: q.tag,
      level: plan.level,
      binSeconds: plan.binUs / 1e6,
      items: bins.map(b => ({ t: isoOfUs(b.t), min: b.min, max: b.max, avg: b.avg, n: b.n })),
    }
  })
}
