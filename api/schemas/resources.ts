// Response shapes of the API's resources, shared by routes and documented in OpenAPI.
import { Type } from '@sinclair/typebox'
import { IsoTime, NullableNumber, NullableString, StringEnum } from './common.js'

export const TagKind = StringEnum(['gauge', 'counter', 'rate'], { description: 'gauge, counter or rate' })

export const TagSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  kind: TagKind,
  unit: NullableString,
  asset: NullableString,
  valueKind: StringEnum(['number', 'boolean'], { description: 'value type on the wire' }),
  createdAt: IsoTime,
}, { title: 'Tag' })

export const PointSchema = Type.Object({
  t: IsoTime,
  v: { ...NullableNumber, description: 'value (booleans as 0/1); null when the device sent NaN or ±Infinity' },
  q: Type.Integer({ description: 'OPC DA quality word: 192 good, 64 uncertain, 0 bad, sub-status in bits 5-2' }),
}, { title: 'Point' })

export const RollupItemSchema = Type.Object({
  tag: Type.Integer(),
  t: IsoTime,
  n: Type.Optional(Type.Integer({ description: 'good-quality samples in the bucket' })),
  min: Type.Optional(NullableNumber),
  max: Type.Optional(NullableNumber),
  avg: Type.Optional(NullableNumber),
  twa: Type.Optional({ ...NullableNumber, description: 'time-weighted average' }),
  sum: Type.Optional(NullableNumber),
  first: Type.Optional(NullableNumber),
  last: Type.Optional(NullableNumber),
  volume: Type.Optional({ ...NullableNumber, description: 'production in the bucket (counter and rate tags; null for gauges)' }),
}, { title: 'RollupItem' })

export const SeriesBinSchema = Type.Object({
  t: IsoTime,
  min: NullableNumber,
  max: NullableNumber,
  avg: NullableNumber,
  n: Type.Integer({ description: 'good-quality samples in the bin' }),
}, { title: 'SeriesBin' })

export const ProductionItemSchema = Type.Object({
  t: IsoTime,
  asset: NullableString,
  tag: Type.Optional(Type.Integer()),
  unit: NullableString,
  volume: Type.Number(),
}, { title: 'ProductionItem' })

export const ScoreSchema = Type.Object({
  t: IsoTime,
  score: Type.Number({ minimum: 0, maximum: 1 }),
  model: Type.String(),
}, { title: 'Score' })

export const AlertSchema = Type.Object({
  id: Type.Integer(),
  tag: Type.Integer(),
  asset: NullableString,
  model: Type.String(),
  openedAt: IsoTime,
  closedAt: { ...NullableString, description: 'null while open' },
  peakScore: Type.Number(),
  threshold: Type.Number(),
}, { title: 'Alert' })
