// A fresh PostgreSQL database per test file on the local server, dropped afterwards,
// so tests never see each other's rows.
import pg from 'pg'
import { loadConfig } from '../../schemas/config/load.js'
import { migrate } from '../../workers/store/migrate.js'
import { sqlOfPg } from '../../workers/store/sql.js'

export interface TestDatabase {
  url: string
  pool: pg.Pool
  drop (): Promise<void>
}

export async function createTestDatabase (label: string): Promise<TestDatabase> {
  const base = new URL(loadConfig().database.url)
  const name = `fs_test_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}`
  const admin = new pg.Client({ connectionString: base.toString() })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 })
  pool.on('error', () => undefined)
  return {
    url: url.toString(),
    pool,
    async drop () {
      await pool.end()
      const c = new pg.Client({ connectionString: base.toString() })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    },
  }
}

/** Bring a test database to the current schema (plain PostgreSQL flavor). */
export async function migrateTestDatabase (url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    await migrate(sqlOfPg(c), { flavor: 'postgres' })
  } finally {
    await c.end()
  }
}
