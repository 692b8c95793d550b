// HTTP errors of the API: a status, a stable snake_case code and a message naming the
// field and the problem. Thrown from routes and hooks; the server's error handler turns
// them (and validation, body-parser and input-caused database errors) into
// `{ error, message }` bodies. Nothing a client sends may end in a 500.

export const HTTP_ERRORS = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'internal',
  503: 'unavailable',
} as const
export type HttpStatus = keyof typeof HTTP_ERRORS

export class ApiError extends Error {
  readonly error: string
  constructor (readonly statusCode: HttpStatus, message: string) {
    super(message)
    this.name = 'ApiError'
    this.error = HTTP_ERRORS[statusCode]
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, message)
export const notFound = (message: string): ApiError => new ApiError(404, message)

/**
 * SQLSTATEs a query can raise only because of the values it was given (out-of-range
 * numbers or times, malformed text for a type, invalid parameters): the client's fault,
 * so 400. Class 22 is "data exception"; 42P18/42804 are parameter type problems.
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isInputError (err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && (code.startsWith('22') || code === '42P18' || code === '42804')
}
