// /v1/production: volumes per bucket of one counter/rate tag, or of an asset summed per unit.
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { ApiError, badRequest } from '../errors.js'
import { errorResponses, notFoundResponse, Query, TagId, Text, Time } from '../schemas/common.js'
import { ProductionItemSchema } from '../schemas/resources.js'
import { assetProduction, assetTagCounts, tagProduction } from '../store/production.js'
import { LEVELS, type Level } from '../store/sql.js'
import { parseRange } from '../time.js'
import { BucketParam } from './rollups.js'
import { tagOr404, tooLarge, type RouteOptions } from './context.js'

const ProductionQuery = Query({
  asset: Type.Optional(Text('asset name (give asset or tag)')),
  tag: Type.Optional(TagId('a counter or rate tag (give asset or tag)')),
  from: Time('first bucket start, inclusive'),
  to: Time('last bucket start, exclusive', 'to'),
  bucket: Type.Optional({ ...BucketParam, default: '1d' }),
})

export async function productionRoutes (app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof ProductionQuery> }>('/v1/production', {
    schema: {
      summary: 'Production volumes per bucket, per tag or per asset and unit', tags: ['production'], querystring: ProductionQuery,
      response: { 200: Type.Object({ bucket: BucketParam, items: Type.Array(ProductionItemSchema, { description: 'by time, then unit' }) }), ...errorResponses, 404: notFoundResponse },
    },
  }, async req => {
    const q = req.query
    if ((q.asset === undefined) === (q.tag === undefined)) throw badRequest('querystring: give exactly one of asset and tag')
    const { fromUs, toUs } = parseRange(q)
    const level = (q.bucket ?? '1d') as Level
    const buckets = Math.ceil((toUs - fromUs) / LEVELS[level].us)
    if (buckets > ctx.maxRows) throw tooLarge(`${buckets.toLocaleString('en')} ${level} buckets`, buckets, ctx.maxRows, `narrow the range (from/to) or use a coarser bucket${level === '1d' ? '' : ` (${level === '1m' ? '1h or 1d' : '1d'})`}`)
    const from = new Date(Math.floor(fromUs / 1000))
    const to = new Date(Math.ceil(toUs / 1000))
    if (q.tag !== undefined) {
      const tag = await tagOr404(ctx, q.tag)
      if (tag.kind === 'gauge') throw badRequest(`querystring/tag: tag ${tag.id} (${tag.name}) is a gauge; production comes from counter and rate tags`)
      return { bucket: level, items: await tagProduction(ctx.pool, level, tag.id, tag.asset, tag.unit, from, to) }
    }
    const counts = await assetTagCounts(ctx.pool, q.asset!)
    if (counts.tags === 0) throw new ApiError(404, `querystring/asset: no tag has the asset ${JSON.stringify(q.asset)}`)
    return { bucket: level, items: await assetProduction(ctx.pool, level, q.asset!, from, to) }
  })
}
