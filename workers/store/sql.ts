// The smallest database surface the store code needs, met by a `pg` Pool or Client and
// by PGlite (in-process PostgreSQL with TimescaleDB, used to test the TimescaleDB SQL).

export interface Sql {
  /** One parameterized statement. */
  query<R = Record<string, unknown>> (text: string, params?: unknown[]): Promise<{ rows: R[] }>
  /** A script of several statements, no parameters. */
  exec (script: string): Promise<void>
}

interface PgLike {
  query (text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
}

/** Wrap a pg Pool/Client (its simple-query protocol runs multi-statement scripts). */
export function sqlOfPg (pg: PgLike): Sql {
  return {
    query: async <R>(text: string, params?: unknown[]) => await pg.query(text, params) as { rows: R[] },
    exec: async (script: string) => { await pg.query(script) },
  }
}
