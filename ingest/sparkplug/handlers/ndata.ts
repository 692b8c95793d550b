// NDATA: node metrics by alias (or name) from the NBIRTH table.
import type { Point } from '../../../schemas/points.js'
import type { EdgeMessage, HostContext, NodeSession } from '../context.js'
import { dataPoints, tagPrefix } from '../points.js'

export function ndata (ctx: HostContext, node: NodeSession, msg: EdgeMessage): void {
  const points: Point[] = []
  const unknown = dataPoints(ctx, node.metrics, tagPrefix(node.groupId, node.edgeNodeId, undefined), msg.payload, msg.receivedMs, points)
  ctx.emit(node.key, points)
  if (unknown > 0) ctx.requestRebirth(msg.topic, `NDATA with ${unknown} unknown metric alias(es)`)
}
