// Sparkplug metrics -> fieldstream points: birth metrics define the session's tables, data
// metrics are resolved through them, dead sessions' metrics become bad-quality points.
import { checkTimeUs, type Point } from '../../schemas/points.js'
import { Quality } from '../../schemas/quality.js'
import { DATATYPES, dataTypeName } from '../../schemas/sparkplug/datatypes.js'
import { HISTORICAL_QUALITY_FLAG } from '../../schemas/sparkplug/historical.js'
import type { HostContext } from './context.js'
import { has, toNumber, type RawMetric, type SparkplugPayload } from './decode.js'
import { isControlMetric, MetricTable, metricValue, type MetricDef } from './metrics.js'

/** Tag names: `<group>/<node>/<metric>` for node metrics, `<group>/<node>/<device>/<metric>` for device metrics. */
export function tagPrefix (groupId: string, edgeNodeId: string, deviceId: string | undefined): string {
  return deviceId === undefined ? `${groupId}/${edgeNodeId}/` : `${groupId}/${edgeNodeId}/${deviceId}/`
}

/** Build the metric table of a birth and the points of its values. */
export function birthTable (ctx: HostContext, prefix: string, payload: SparkplugPayload, receivedMs: number, out: Point[]): MetricTable {
  const table = new MetricTable()
  for (const m of payload.metrics) {
    if (m.name == null || m.name === '') {
      ctx.warn('birth-unnamed', `${prefix}: birth metric without a name skipped`)
      continue
    }
    const datatype = m.datatype ?? 0
    const def: MetricDef = { name: m.name, tag: prefix + m.name, datatype, last: datatype === 11 ? false : 0 }
    table.add(def, has(m, 'alias') ? toNumber(m.alias!) : undefined)
    if (!isControlMetric(m.name)) pushPoint(ctx, def, m, payload, receivedMs, out)
  }
  return table
}

/**
 * Resolve DATA metrics through `table` and append their points.
 * Returns the number of metrics the table does not know (a reason to ask for a rebirth).
 */
export function dataPoints (ctx: HostContext, table: MetricTable, prefix: string, payload: SparkplugPayload, receivedMs: number, out: Point[]): number {
  let unknown = 0
  for (const m of payload.metrics) {
    const def = table.resolve(m)
    if (def === undefined) {
      unknown++
      ctx.stats.unknownMetrics++
      continue
    }
    pushPoint(ctx, def, m, payload, receivedMs, out)
  }
  if (unknown > 0) ctx.warn(`unknown-metric:${prefix}`, `${prefix}: ${unknown} metric(s) with an alias or name not in the birth`)
  return unknown
}

function pushPoint (ctx: HostContext, def: MetricDef, m: RawMetric, payload: SparkplugPayload, receivedMs: number, out: Point[]): void {
  const timeMs = has(m, 'timestamp') ? toNumber(m.timestamp!) : (payload.timestamp ?? receivedMs)
  // A uint64 timestamp can say anything (µs or ns sent as ms, a corrupt field): such a point
  // could not be stored, and must not displace the tag's last value either.
  const badTime = checkTimeUs(Math.round(timeMs * 1000))
  if (badTime !== undefined) {
    ctx.stats.metricsSkipped++
    ctx.warn(`skip:${def.tag}`, `metric ${def.tag} skipped: timestamp ${timeMs} ms: ${badTime}`)
    return
  }
  const historical = m.isHistorical === true
  let value: number | boolean
  let quality: number
  if (m.isNull === true) {
    value = def.last
    quality = Quality.bad
  } else {
    const datatype = has(m, 'datatype') ? m.datatype! : def.datatype
    const v = metricValue(m, datatype)
    if (!v.ok) {
      ctx.stats.metricsSkipped++
      ctx.warn(`skip:${def.tag}`, `metric ${def.tag} (${dataTypeName(datatype)}) skipped: ${v.reason}`)
      return
    }
    value = v.value
    quality = Quality.good
  }
  if (historical) {
    quality |= HISTORICAL_QUALITY_FLAG
    ctx.stats.historicalPoints++
  } else {
    // A replayed value is never the current one: only live values update `last`.
    def.last = value
  }
  out.push({ tag: def.tag, timeUs: Math.round(timeMs * 1000), value, quality })
}

/** `timeMs` when it is a storable point time, else `fallbackMs` (the time the host received the message). */
export function storableMs (timeMs: number | undefined, fallbackMs: number): number {
  return timeMs !== undefined && checkTimeUs(Math.round(timeMs * 1000)) === undefined ? timeMs : fallbackMs
}

/** Bad (comm failure) points for every stored metric of a table, at `timeMs`: the session is dead, its values stale. */
export function stalePoints (table: MetricTable, timeMs: number, out: Point[]): number {
  const before = out.length
  for (const def of table.byName.values()) {
    if (isControlMetric(def.name) || !isStoredType(def.datatype)) continue
    out.push({ tag: def.tag, timeUs: Math.round(timeMs * 1000), value: def.last, quality: Quality.badCommFailure })
  }
  return out.length - before
}

function isStoredType (datatype: number): boolean {
  const stored = DATATYPES.get(datatype)?.stored
  return stored === 'number' || stored === 'boolean'
}
