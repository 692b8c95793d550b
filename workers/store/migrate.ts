// Versioned, idempotent migrations from schemas/sql/migrations, applied by
// `fieldstream migrate` and at worker start. Files are `NNNN_name.sql` (every flavor) or
// `NNNN_name.<flavor>.sql` (postgres | timescaledb). Concurrent migrators (several workers
// starting at once) serialize on an advisory lock.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MigrationFailed } from './errors.js'
import type { Sql } from './sql.js'

export type StoreFlavor = 'postgres' | 'timescaledb'

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../../schemas/sql/migrations/', import.meta.url))
const LOCK_KEY = 0x6669656c // "fiel"

export interface Migration { version: number, name: string, flavor: StoreFlavor | 'all', file: string, sql: string, checksum: string }

export interface MigrateResult { flavor: StoreFlavor, applied: string[], current: number }

export function listMigrations (flavor: StoreFlavor, dir = MIGRATIONS_DIR): Migration[] {
  const byVersion = new Map<number, Migration>()
  for (const file of readdirSync(dir).filter(f => f.endsWith('.sql')).sort()) {
    const m = /^(\d{4})_([a-z0-9_]+?)(?:\.(postgres|timescaledb))?\.sql$/.exec(file)
    if (m === null) throw new MigrationFailed(`migration file ${file} is not named NNNN_name[.postgres|.timescaledb].sql`)
    const fileFlavor = (m[3] ?? 'all') as Migration['flavor']
    if (fileFlavor !== 'all' && fileFlavor !== flavor) continue
    const version = Number(m[1])
    if (byVersion.has(version)) throw new MigrationFailed(`two migrations share version ${m[1]} for flavor ${flavor}: ${byVersion.get(version)!.file} and ${file}`)
    const sql = readFileSync(join(dir, file), 'utf8')
    byVersion.set(version, { version, name: m[2]!, flavor: fileFlavor, file, sql, checksum: createHash('sha256').update(sql).digest('hex').slice(0, 16) })
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version)
}

/** TimescaleDB when the server offers the extension, plain PostgreSQL otherwise. */
export async function detectFlavor (db: Sql): Promise<StoreFlavor> {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'")
  return rows[0]!.n > 0 ? 'timescaledb' : 'postgres'
}

/**
 * Apply what is missing. `db` must be one session (a Client or PGlite, not a Pool),
 * because the advisory lock belongs to the session.
 */
export async function migrate (db: Sql, options: { flavor?: StoreFlavor, dir?: string } = {}): Promise<MigrateResult> {
  await db.query('SELECT pg_advisory_lock($1)', [LOCK_KEY])
  try {
    await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, flavor text NOT NULL,
      checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows: done } = await db.query<{ version: number, name: string, flavor: string, checksum: string }>('SELECT version, name, flavor, checksum FROM schema_migrations')
    const recordedFlavor = done.find(r => r.flavor !== 'all')?.flavor as StoreFlavor | undefined
    const flavor = options.flavor ?? recordedFlavor ?? await detectFlavor(db)
    if (recordedFlavor !== undefined && recordedFlavor !== flavor) {
      throw new MigrationFailed(`the database was set up for ${recordedFlavor}, not ${flavor}; a store cannot switch flavor in place`)
    }
    const migrations = listMigrations(flavor, options.dir)
    const applied: string[] = []
    for (const m of migrations) {
      const previous = done.find(r => r.version === m.version)
      if (previous !== undefined) {
        if (previous.checksum !== m.checksum) {
          throw new MigrationFailed(`migration ${m.file} changed after it was applied (checksum ${previous.checksum} in the database, ${m.checksum} on disk); add a new migration instead`)
        }
        continue
      }
      try {
        await db.exec('BEGIN')
        await db.exec(m.sql)
        await db.query('INSERT INTO schema_migrations (version, name, flavor, checksum) VALUES ($1, $2, $3, $4)', [m.version, m.name, m.flavor, m.checksum])
        await db.exec('COMMIT')
      } catch (err) {
        await db.exec('ROLLBACK').catch(() => undefined)
        throw new MigrationFailed(`migration ${m.file} failed: ${(err as Error).message}`, { cause: err })
      }
      applied.push(m.file)
    }
    const current = Math.max(0, ...migrations.map(m => m.version))
    return { flavor, applied, current }
  } finally {
    await db.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY])
  }
}
