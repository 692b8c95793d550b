// What every route plugin receives: the database pool, the tag lookup and the size bounds.
import type pg from 'pg'
import { ApiError, badRequest } from '../errors.js'
import type { TagLookup } from '../store/tag-lookup.js'
import type { TagRow } from '../store/tags.js'

export interface RouteContext {
  pool: pg.Pool
  tags: TagLookup
  /** Most rows of a JSON response. */
  maxRows: number
  /** Most rows of a CSV response. */
  maxCsvRows: number
}

export interface RouteOptions { ctx: RouteContext }

/** The tag, or a 404 naming the parameter it came from. */
export async function tagOr404 (ctx: RouteContext, id: number, field = 'tag'): Promise<TagRow> {
  const tag = await ctx.tags.get(id)
  if (tag === undefined) throw new ApiError(404, `${field}: tag ${id} does not exist`)
  return tag
}

/** The 400 for a request that would return more than a response may hold. */
export function tooLarge (what: string, rows: number, max: number, hint: string): ApiError {
  return badRequest(`${what} would return about ${rows.toLocaleString('en')} rows, more than the ${max.toLocaleString('en')} one response may hold: ${hint}`)
}
