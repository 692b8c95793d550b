// The api_keys table (migration 0009): create, list, revoke, and find a key by prefix.
import type pg from 'pg'
import { generateKey, type Scope } from './keys.js'

export interface ApiKeyRow {
  id: number
  name: string
  prefix: string
  scopes: Scope[]
  createdAt: Date
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export interface StoredKey { id: number, prefix: string, keyHash: string, scopes: Scope[], revoked: boolean }

type Db = pg.Pool | pg.PoolClient | pg.Client

/** Insert a new key; returns the row and the key, which exists nowhere else afterwards. */
export async function createApiKey (db: Db, name: string, scopes: Scope[]): Promise<{ key: string, row: ApiKeyRow }> {
  const k = generateKey()
  const { rows } = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ($1, $2, $3, $4)
     RETURNING id, name, prefix, scopes, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`,
    [name, k.prefix, k.hash, scopes])
  return { key: k.key, row: rows[0]! }
}

export async function listApiKeys (db: Db): Promise<ApiKeyRow[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT id, name, prefix, scopes, created_at AS "createdAt", last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"
       FROM api_keys ORDER BY id`)
  return rows
}

/** Revoke by prefix; returns false when no active key has it. */
export async function revokeApiKey (db: Db, prefix: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE api_keys SET revoked_at = now() WHERE prefix = $1 AND revoked_at IS NULL', [prefix])
  return (rowCount ?? 0) > 0
}

export async function findApiKey (db: Db, prefix: string): Promise<StoredKey | undefined> {
  const { rows } = await db.query<StoredKey>({
    name: 'fs_api_key_by_prefix',
    text: 'SELECT id, prefix, key_hash AS "keyHash", scopes, revoked_at IS NOT NULL AS revoked FROM api_keys WHERE prefix = $1',
    values: [prefix],
  })
  return rows[0]
}

/** Best effort: when a key was last used (coarse; written at most once per cache period). */
export async function touchApiKey (db: Db, id: number): Promise<void> {
  await db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id])
}
