// Turning Ajv's validation errors into one sentence that names the field and the problem:
// "querystring/from must be an ISO-8601 time or epoch ms (got "yesterday")". Schemas may
// carry `x-expected` to say what a value should look like where Ajv's own words ("must
// match pattern ^(-?[0-9]...") would not help anyone.
import { Ajv, type Options } from 'ajv'
import type { FastifySchema, FastifySchemaValidationError } from 'fastify/types/schema.js'
import { ApiError } from './errors.js'
import { NO_NUL } from './schemas/common.js'

const shown = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v) : JSON.stringify(v)
  return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}...` : s
}

type AjvError = FastifySchemaValidationError & { parentSchema?: Record<string, unknown>, data?: unknown }

export function describeValidationError (e: AjvError, dataVar: string): string {
  const field = `${dataVar}${e.instancePath}`
  const params = e.params as Record<string, unknown>
  switch (e.keyword) {
    case 'required': return `${field}/${String(params.missingProperty)} is required`
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema?.properties ?? {}) as object)
      return `${field} has an unknown parameter ${shown(params.additionalProperty)}${allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : ''}`
    }
    case 'enum': return `${field} must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')} (got ${shown(e.data)})`
    case 'minProperties': return `${field} must set at least ${String(params.limit)} field${params.limit === 1 ? '' : 's'}`
    case 'pattern':
      if (params.pattern === NO_NUL) return `${field} must not contain a NUL character (got ${shown(e.data)})`
      break
  }
  if (e.keyword === 'type' && e.parentSchema?.['x-expected'] === undefined) {
    const types = String(params.type).split(',').map(x => x === 'integer' ? 'an integer' : x === 'object' ? 'an object' : x === 'array' ? 'an array' : x === 'null' ? 'null' : `a ${x}`)
    return `${field} must be ${types.join(' or ')} (got ${shown(e.data)})`
  }
  const expected = e.parentSchema?.['x-expected']
  if (typeof expected === 'string' && ['pattern', 'type', 'minimum', 'maximum', 'format', 'maxLength', 'minLength'].includes(e.keyword)) {
    return `${field} ${expected} (got ${shown(e.data)})`
  }
  return `${field} ${e.message ?? 'is invalid'}${e.data === undefined ? '' : ` (got ${shown(e.data)})`}`
}

/** Fastify's schemaErrorFormatter: a 400 ApiError from the first error. */
export function formatValidationErrors (errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new ApiError(400, describeValidationError(errors[0] as AjvError, dataVar))
}

const AJV_OPTIONS: Options = {
  useDefaults: true,
  // Unknown parameters are errors, not silently dropped.
  removeAdditional: false,
  allErrors: false,
  // Errors carry the schema and the data the formatter needs.
  verbose: true,
  keywords: ['x-expected'],
  strict: false,
}

/**
 * Fastify's validator compiler with two Ajv instances: query strings and path parameters are
 * text, so they are coerced ("5" -> 5); JSON bodies are already typed and are not (a body
 * sending `"asset": false` is a 400, not the string "false").
 */
export function createValidatorCompiler (): (route: { schema: FastifySchema, httpPart?: string }) => (data: unknown) => boolean {
  const text = new Ajv({ ...AJV_OPTIONS, coerceTypes: 'array' })
  const json = new Ajv({ ...AJV_OPTIONS, coerceTypes: false })
  return ({ schema, httpPart }) => (httpPart === 'body' ? json : text).compile(schema as object)
}
