// The one dispatcher: Sparkplug message type -> handler. Messages that follow NBIRTH in a node
// session (NDATA, DBIRTH, DDATA, DDEATH) go through the node's seq tracker first.
import type { SparkplugTopic, EdgeTopic } from '../../../schemas/sparkplug/topic.js'
import { nodeKey, type EdgeMessage, type HostContext, type SequencedHandler } from '../context.js'
import { decodePayload } from '../decode.js'
import { SparkplugPayloadInvalid } from '../errors.js'
import { dbirth } from './dbirth.js'
import { ddata } from './ddata.js'
import { ddeath } from './ddeath.js'
import { nbirth } from './nbirth.js'
import { ndata } from './ndata.js'
import { ndeath } from './ndeath.js'
import { state } from './state.js'

export function dispatch (ctx: HostContext, topic: SparkplugTopic, bytes: Uint8Array, receivedMs: number): void {
  switch (topic.type) {
    case 'STATE': return state(ctx, topic, bytes)
    case 'NBIRTH': return withPayload(ctx, topic, bytes, receivedMs, msg => nbirth(ctx, msg))
    case 'NDEATH': return withPayload(ctx, topic, bytes, receivedMs, msg => ndeath(ctx, msg))
    case 'NDATA': return withPayload(ctx, topic, bytes, receivedMs, msg => inSequence(ctx, msg, ndata))
    case 'DBIRTH': return withPayload(ctx, topic, bytes, receivedMs, msg => inSequence(ctx, msg, dbirth))
    case 'DDATA': return withPayload(ctx, topic, bytes, receivedMs, msg => inSequence(ctx, msg, ddata))
    case 'DDEATH': return withPayload(ctx, topic, bytes, receivedMs, msg => inSequence(ctx, msg, ddeath))
    // Commands are addressed to edge nodes (including our own rebirth requests, echoed back).
    case 'NCMD': case 'DCMD': return
  }
}

function withPayload (ctx: HostContext, topic: EdgeTopic, bytes: Uint8Array, receivedMs: number, handle: (msg: EdgeMessage) => void): void {
  let payload
  try {
    payload = decodePayload(bytes)
  } catch (err) {
    if (!(err instanceof SparkplugPayloadInvalid)) throw err
    ctx.stats.payloadInvalid++
    ctx.warn(`payload:${nodeKey(topic)}`, `${err.code}: ${topic.type} from ${nodeKey(topic)}${topic.deviceId === undefined ? '' : `/${topic.deviceId}`}: ${err.message}; skipped`)
    return
  }
  handle({ topic, payload, receivedMs })
}

function inSequence (ctx: HostContext, msg: EdgeMessage, handler: SequencedHandler): void {
  const node = ctx.nodes.get(nodeKey(msg.topic))
  if (node === undefined) {
    ctx.stats.dataBeforeBirth++
    ctx.requestRebirth(msg.topic, `${msg.topic.type} before NBIRTH`)
    return
  }
  if (msg.payload.seq === undefined) {
    ctx.warn(`seq-missing:${node.key}`, `${msg.topic.type} from ${node.key} without seq: processed out of sequence`)
    handler(ctx, node, msg)
    return
  }
  for (const item of node.seq.accept(msg.payload.seq, { msg, handler })) item.handler(ctx, node, item.msg)
}
