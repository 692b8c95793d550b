// /v1/tags (search, filter, keyset pages), /v1/tags/:id (read; PATCH with admin) and /v1/assets.
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { ApiError, badRequest } from '../errors.js'
import { Cursor, errorResponses, NO_NUL, notFoundResponse, Query, TagId, Text } from '../schemas/common.js'
import { TagKind, TagSchema } from '../schemas/resources.js'
import { listAssets, listTags, patchTag } from '../store/tags.js'
import { tagOr404, type RouteOptions } from './context.js'

const TagsQuery = Query({
  q: Type.Optional(Text('substring of the tag name, case-insensitive')),
  asset: Type.Optional(Text('exact asset name')),
  kind: Type.Optional(TagKind),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'tags per page' })),
  cursor: Type.Optional(Cursor),
})

const IdParams = Type.Object({ id: TagId() }, { additionalProperties: false })

const TagPatchBody = Type.Object({
  kind: Type.Optional(TagKind),
  unit: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, maxLength: 64, pattern: NO_NUL })),
  asset: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, maxLength: 256, pattern: NO_NUL })),
}, { additionalProperties: false, minProperties: 1, description: 'fields to change; null clears unit or asset' })

const encodeCursor = (id: number): string => Buffer.from(String(id)).toString('base64url')
function decodeCursor (s: string): number {
  const text = Buffer.from(s, 'base64url').toString('latin1')
  if (!/^\d{1,10}$/.test(text) || Number(text) > 2_147_483_647) throw badRequest('querystring/cursor must be the nextCursor value of a previous page')
  return Number(text)
}

export async function tagsRoutes (app: FastifyInstance, { ctx }: RouteOptions): Promise<void> {
  app.get<{ Querystring: Static<typeof TagsQuery> }>('/v1/tags', {
    schema: {
      summary: 'Search tags', tags: ['tags'], querystring: TagsQuery,
      response: { 200: Type.Object({ items: Type.Array(TagSchema), nextCursor: Type.Unsafe<string | null>({ type: ['string', 'null'], description: 'pass as cursor for the next page; null on the last page' }) }), ...errorResponses },
    },
  }, async req => {
    const q = req.query
    const limit = q.limit ?? 100
    const rows = await listTags(ctx.pool, { q: q.q, asset: q.asset, kind: q.kind, afterId: q.cursor === undefined ? 0 : decodeCursor(q.cursor), limit: limit + 1 })
    const more = rows.length > limit
    const items = more ? rows.slice(0, limit) : rows
    return { items, nextCursor: more ? encodeCursor(items[items.length - 1]!.id) : null }
  })

  app.get<{ Params: Static<typeof IdParams> }>('/v1/tags/:id', {
    schema: { summary: 'One tag', tags: ['tags'], params: IdParams, response: { 200: TagSchema, ...errorResponses, 404: notFoundResponse } },
  }, async req => await tagOr404(ctx, req.params.id, 'params/id'))

  app.patch<{ Params: Static<typeof IdParams>, Body: Static<typeof TagPatchBody> }>('/v1/tags/:id', {
    config: { scope: 'admin' },
    schema: { summary: 'Change a tag\'s kind, unit or asset (admin)', tags: ['tags'], params: IdParams, body: TagPatchBody, response: { 200: TagSchema, ...errorResponses, 404: notFoundResponse } },
  }, async req => {
    const row = await patchTag(ctx.pool, req.params.id, req.body)
    if (row === undefined) throw new ApiError(404, `params/id: tag ${req.params.id} does not exist`)
    ctx.tags.forget(req.params.id)
    return row
  })

  app.get('/v1/assets', {
    schema: {
      summary: 'Assets and how many tags each carries', tags: ['tags'],
      // No parameters; an unknown one is a 400 as on every other route, not silently ignored.
      querystring: Query({}),
      response: { 200: Type.Object({ items: Type.Array(Type.Object({ asset: Type.String(), tags: Type.Integer() })) }), ...errorResponses },
    },
  }, async () => ({ items: await listAssets(ctx.pool) }))
}
