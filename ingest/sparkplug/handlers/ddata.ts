// DDATA: device metrics by alias (or name) from the device's DBIRTH table.
import type { Point } from '../../../schemas/points.js'
import type { EdgeMessage, HostContext, NodeSession } from '../context.js'
import { dataPoints, tagPrefix } from '../points.js'

export function ddata (ctx: HostContext, node: NodeSession, msg: EdgeMessage): void {
  const deviceId = msg.topic.deviceId!
  const device = node.devices.get(deviceId)
  if (device === undefined) {
    ctx.stats.dataBeforeBirth++
    ctx.requestRebirth(msg.topic, `DDATA from device ${deviceId} before its DBIRTH`)
    return
  }
  const points: Point[] = []
  const unknown = dataPoints(ctx, device.metrics, tagPrefix(node.groupId, node.edgeNodeId, deviceId), msg.payload, msg.receivedMs, points)
  ctx.emit(device.source, points)
  if (unknown > 0) ctx.requestRebirth(msg.topic, `DDATA from ${deviceId} with ${unknown} unknown metric alias(es)`)
}
