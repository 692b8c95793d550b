// DDEATH: the device is gone; its metrics are stale from the DDEATH's timestamp on.
import type { Point } from '../../../schemas/points.js'
import type { EdgeMessage, HostContext, NodeSession } from '../context.js'
import { stalePoints, storableMs } from '../points.js'

export function ddeath (ctx: HostContext, node: NodeSession, msg: EdgeMessage): void {
  const deviceId = msg.topic.deviceId!
  const device = node.devices.get(deviceId)
  if (device === undefined) return
  node.devices.delete(deviceId)
  ctx.stats.deaths++
  const points: Point[] = []
  // A DDEATH with an unusable timestamp still marks the metrics stale, as of its arrival.
  ctx.stats.stalePoints += stalePoints(device.metrics, storableMs(msg.payload.timestamp, msg.receivedMs), points)
  ctx.emit(device.source, points)
}
