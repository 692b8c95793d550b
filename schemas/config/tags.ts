// `tags:` in the config file: what the tags mean, for rollups and production curves. The
// workers copy the rules into the database at start (workers/store/tag-rules.ts), where the
// first matching rule fills a tag's kind, unit and asset when the tag first arrives.
import { Type, type Static } from '@sinclair/typebox'

const RATE_PERIODS = { second: 1, minute: 60, hour: 3600, day: 86400 } as const

export const TagRuleSchema = Type.Object({
  /** POSIX regular expression on the tag name, e.g. '^pad1/fm[0-9]+/total$'. */
  match: Type.String({ minLength: 1 }),
  /** gauge (a level: averaged), counter (a totalizer: volumes from increments) or rate (volumes by integration). */
  kind: Type.Optional(Type.Union([Type.Literal('gauge'), Type.Literal('counter'), Type.Literal('rate')])),
  unit: Type.Optional(Type.String({ minLength: 1 })),
  /** The asset (well, pump, meter) the tag belongs to; may use the match's groups: '\\1'. */
  asset: Type.Optional(Type.String({ minLength: 1 })),
  /** counter: the value at which it wraps to 0 (4294967.296 for a uint32 scaled by 0.001). */
  counterModulus: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  /** rate: the unit's time base (bbl/day: day). */
  ratePer: Type.Optional(Type.Union(Object.keys(RATE_PERIODS).map(k => Type.Literal(k)))),
}, { additionalProperties: false })

export const TagsSchema = Type.Object({
  /** First match wins. */
  rules: Type.Array(TagRuleSchema, { default: [] }),
}, { additionalProperties: false, default: {} })

export type TagRule = Static<typeof TagRuleSchema>

export function ratePeriodSeconds (per: string | undefined): number | undefined {
  return per === undefined ? undefined : RATE_PERIODS[per as keyof typeof RATE_PERIODS]
}
