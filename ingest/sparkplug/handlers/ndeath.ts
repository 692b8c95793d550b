// NDEATH (the node's MQTT will): acted on only when its bdSeq matches the current NBIRTH's, so
// a late will of an earlier connection cannot kill the session that replaced it (spec 7.x).
// The node's and its devices' metrics become stale at the time the host learns of the death:
// the will's own timestamp, if any, was set when the node connected, not when it died.
import type { Point } from '../../../schemas/points.js'
import { BDSEQ_METRIC } from '../../../schemas/sparkplug/topic.js'
import { nodeKey, type EdgeMessage, type HostContext } from '../context.js'
import { toNumber } from '../decode.js'
import { stalePoints } from '../points.js'

export function ndeath (ctx: HostContext, msg: EdgeMessage): void {
  const key = nodeKey(msg.topic)
  const node = ctx.nodes.get(key)
  const m = msg.payload.metrics.find(x => x.name === BDSEQ_METRIC)
  const bdSeq = m?.longValue != null ? toNumber(m.longValue) : m?.intValue ?? undefined
  if (node === undefined || node.bdSeq === undefined || bdSeq !== node.bdSeq) {
    ctx.stats.deathsIgnored++
    ctx.warn(`ndeath:${key}`, `NDEATH of ${key} with bdSeq ${String(bdSeq)} ignored (current session: ${node === undefined ? 'none' : `bdSeq ${String(node.bdSeq)}`})`)
    return
  }
  node.seq.close()
  ctx.nodes.delete(key)
  ctx.stats.deaths++
  for (const device of node.devices.values()) {
    const points: Point[] = []
    ctx.stats.stalePoints += stalePoints(device.metrics, msg.receivedMs, points)
    ctx.emit(device.source, points)
  }
  const points: Point[] = []
  ctx.stats.stalePoints += stalePoints(node.metrics, msg.receivedMs, points)
  ctx.emit(node.key, points)
}
