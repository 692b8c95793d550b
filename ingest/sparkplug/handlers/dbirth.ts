// DBIRTH: opens a device session under the current node session.
import type { Point } from '../../../schemas/points.js'
import type { EdgeMessage, HostContext, NodeSession } from '../context.js'
import { birthTable, tagPrefix } from '../points.js'

export function dbirth (ctx: HostContext, node: NodeSession, msg: EdgeMessage): void {
  const deviceId = msg.topic.deviceId!
  const points: Point[] = []
  const metrics = birthTable(ctx, tagPrefix(node.groupId, node.edgeNodeId, deviceId), msg.payload, msg.receivedMs, points)
  const source = `${node.key}/${deviceId}`
  node.devices.set(deviceId, { deviceId, source, metrics })
  ctx.stats.births++
  ctx.emit(source, points)
}
