// Small SQL helpers shared by the API's queries. Every value travels as a parameter; the
// only text spliced into SQL comes from the fixed tables below (never from a request).

/**
 * A timestamptz column as ISO-8601 UTC text, formatted by the server the way the API
 * formats every time (api/time.ts isoOfUs): milliseconds, or microseconds when it has them.
 */
export const isoText = (column: string): string =>
  `CASE WHEN extract(microseconds FROM ${column})::int8 % 1000 = 0
        THEN to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        ELSE to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END`

/** Same, for columns known to be whole seconds (rollup buckets): one to_char, no test. */
export const isoTextSeconds = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"')`

/** Rollup levels: the relation holding each (tables, or continuous aggregates on TimescaleDB). */
export const LEVELS = {
  '1m': { relation: 'rollup_1m', us: 60_000_000 },
  '1h': { relation: 'rollup_1h', us: 3_600_000_000 },
  '1d': { relation: 'rollup_1d', us: 86_400_000_000 },
} as const
export type Level = keyof typeof LEVELS
