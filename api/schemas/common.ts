// Schema pieces shared by the routes. Every schema is TypeBox (JSON Schema), so one
// definition validates requests (Ajv), serializes responses (fast-json-stringify) and
// documents the API (OpenAPI at /docs). `x-expected` is our own annotation: the validation
// error formatter uses it to say what a malformed value should look like.
import { Type, type TInteger, type TObject, type TProperties, type TSchema, type TString, type TUnsafe } from '@sinclair/typebox'
import { TIME_EXPECTED, TIME_PATTERN } from '../time.js'

/** A value of `schema` or null (OpenAPI 3.0 renders it as `nullable: true`). */
/** One of some strings (a plain `enum`: clearer errors and OpenAPI than a union of literals). */
export const StringEnum = <const T extends string>(values: readonly T[], options: Record<string, unknown> = {}): TUnsafe<T> =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options })

export const NullableNumber = Type.Unsafe<number | null>({ type: ['number', 'null'] })
export const NullableString = Type.Unsafe<string | null>({ type: ['string', 'null'] })

const TIME_EXAMPLES = { from: ['2026-11-22T00:00:00Z', '1795305600000'], to: ['2026-11-23T00:00:00Z', '1795392000000'] }

/** A time parameter; `role` picks examples that make a valid range (from before to). */
export const Time = (description: string, role: 'from' | 'to' = 'from'): TString => Type.String({
  pattern: TIME_PATTERN, 'x-expected': TIME_EXPECTED, description: `${description}: ISO-8601 (no offset means UTC) or epoch milliseconds`,
  examples: TIME_EXAMPLES[role],
})

export const TagId = (description = 'tag id'): TInteger =>
  Type.Integer({ minimum: 1, maximum: 2_147_483_647, description, 'x-expected': 'must be a tag id (an integer from 1)' })

export const Cursor = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}$', maxLength: 64,
  description: 'nextCursor of the previous page',
  'x-expected': 'must be the nextCursor value of a previous page',
})

/**
 * No NUL character: PostgreSQL text cannot hold one, so the schema says so (a 400 naming the
 * field, and clients and fuzzers reading the OpenAPI document know it) instead of the database
 * refusing the value later.
 */
export const NO_NUL = '^[^\\u0000]*$'

/** Free text filters: bounded, so a huge value is a 400, not a slow query. */
export const Text = (description: string, maxLength = 256): TString => Type.String({ minLength: 1, maxLength, pattern: NO_NUL, description })

export const IsoTime = Type.String({ description: 'ISO-8601 time, UTC', examples: ['2026-11-23T10:00:00.000Z'] })

const errorBody = (description: string): TSchema => Type.Object({
  error: Type.String({ description: 'stable code: bad_request, unauthorized, forbidden, not_found, too_many_requests, ...' }),
  message: Type.String({ description: 'what is wrong, naming the field' }),
}, { description })

/** The error answers every authenticated route can give. */
export const errorResponses = {
  400: errorBody('a parameter is malformed or the request asks for too much (the message names the field)'),
  401: errorBody('no API key, or not a valid one'),
  403: errorBody('the key lacks the scope this route needs'),
  429: errorBody('rate limit of the key exceeded'),
} as const

export const notFoundResponse = errorBody('no such resource')

/** Querystring objects reject unknown parameters (a typo is a 400, not silently ignored). */
export const Query = <P extends TProperties>(properties: P): TObject<P> => Type.Object(properties, { additionalProperties: false })
