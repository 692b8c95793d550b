// API key material: 32 random bytes, shown once as `fsk_<base64url>`; stored as the SHA-256
// of the whole key string plus its first characters (the prefix) to find the row. Random
// 256-bit keys cannot be guessed, so a fast hash is enough and verification stays cheap.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export const SCOPES = ['read', 'admin'] as const
export type Scope = typeof SCOPES[number]

const KEY_PREFIX = 'fsk_'
/** Characters of the random part kept as the lookup prefix (72 bits, leaves 184 secret). */
const PREFIX_CHARS = 12
const KEY_PATTERN = /^fsk_[A-Za-z0-9_-]{43}$/

export interface NewKey {
  /** The full key: give it to the user once, never store it. */
  key: string
  /** `fsk_` plus the first 12 characters of the random part; unique, safe to show. */
  prefix: string
  /** Hex SHA-256 of the full key. */
  hash: string
}

export function generateKey (): NewKey {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url')
  return { key, prefix: keyPrefix(key)!, hash: hashKey(key) }
}

export function hashKey (key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** The lookup prefix of a well-formed key, undefined for anything that cannot be a key. */
export function keyPrefix (key: string): string | undefined {
  return KEY_PATTERN.test(key) ? key.slice(0, KEY_PREFIX.length + PREFIX_CHARS) : undefined
}

/** Constant-time comparison of two hex digests. */
export function sameHash (a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

/** An admin key may also read: the scopes a key created with `scope` holds. */
export function scopesFor (scope: Scope): Scope[] {
  return scope === 'admin' ? ['read', 'admin'] : ['read']
}
