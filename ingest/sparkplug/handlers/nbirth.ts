// NBIRTH: opens a new node session (bdSeq, alias table, seq = payload seq). Any earlier
// session of the node and its device sessions end here; devices send DBIRTH again.
import type { Point } from '../../../schemas/points.js'
import { BDSEQ_METRIC } from '../../../schemas/sparkplug/topic.js'
import { nodeKey, type EdgeMessage, type HostContext } from '../context.js'
import { toNumber } from '../decode.js'
import { birthTable, tagPrefix } from '../points.js'

export function nbirth (ctx: HostContext, msg: EdgeMessage): void {
  const { topic, payload } = msg
  const key = nodeKey(topic)
  ctx.nodes.get(key)?.seq.close()
  const bdSeqMetric = payload.metrics.find(m => m.name === BDSEQ_METRIC)
  const bdSeq = bdSeqMetric?.longValue != null ? toNumber(bdSeqMetric.longValue) : bdSeqMetric?.intValue ?? undefined
  if (bdSeq === undefined) ctx.warn(`nbirth-bdseq:${key}`, `NBIRTH of ${key} has no bdSeq metric: its NDEATH cannot be matched and will be ignored`)
  const node = ctx.openNode(topic, bdSeq)
  node.seq.reset(payload.seq ?? 0)
  const points: Point[] = []
  node.metrics = birthTable(ctx, tagPrefix(topic.groupId, topic.edgeNodeId, undefined), payload, msg.receivedMs, points)
  ctx.stats.births++
  ctx.birthed(key)
  ctx.emit(node.key, points)
}
