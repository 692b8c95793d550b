// What the message handlers share: node/device sessions, the point output, rebirth requests.
import type { Point } from '../../schemas/points.js'
import type { EdgeTopic } from '../../schemas/sparkplug/topic.js'
import type { SparkplugPayload } from './decode.js'
import type { MetricTable } from './metrics.js'
import type { SeqTracker } from './seq.js'

export interface EdgeMessage {
  topic: EdgeTopic
  payload: SparkplugPayload
  /** When the host received it, ms since the epoch. */
  receivedMs: number
}

export type SequencedHandler = (ctx: HostContext, node: NodeSession, msg: EdgeMessage) => void

export interface DeviceSession {
  deviceId: string
  /** Batch source (Kafka key): `<group>/<node>/<device>`. */
  source: string
  metrics: MetricTable
}

export interface NodeSession {
  /** `<group>/<node>`: also the batch source of node metrics. */
  key: string
  groupId: string
  edgeNodeId: string
  /** bdSeq of the NBIRTH that opened this session; an NDEATH must carry the same. */
  bdSeq: number | undefined
  metrics: MetricTable
  devices: Map<string, DeviceSession>
  seq: SeqTracker<{ msg: EdgeMessage, handler: SequencedHandler }>
}

export interface SparkplugStats {
  messages: number
  births: number
  deaths: number
  /** NDEATHs whose bdSeq does not match the current NBIRTH (a late will of an old session). */
  deathsIgnored: number
  points: number
  historicalPoints: number
  /** Bad-quality points emitted for metrics of a dead node or device. */
  stalePoints: number
  /** Metrics of a datatype fieldstream does not store (String, DataSet, Template ...). */
  metricsSkipped: number
  /** DATA metrics with an alias or name not in the birth. */
  unknownMetrics: number
  dataBeforeBirth: number
  seqGaps: number
  rebirthRequests: number
  /** Rebirth reasons that did not produce a request (one already pending, or too soon). */
  rebirthSuppressed: number
  payloadInvalid: number
  /** Messages on spBv1.0/... that are not a valid Sparkplug topic. */
  topicInvalid: number
}

export function emptyStats (): SparkplugStats {
  return {
    messages: 0, births: 0, deaths: 0, deathsIgnored: 0, points: 0, historicalPoints: 0, stalePoints: 0,
    metricsSkipped: 0, unknownMetrics: 0, dataBeforeBirth: 0, seqGaps: 0, rebirthRequests: 0, rebirthSuppressed: 0,
    payloadInvalid: 0, topicInvalid: 0,
  }
}

export interface HostContext {
  readonly hostId: string
  readonly nodes: Map<string, NodeSession>
  readonly stats: SparkplugStats
  /** A fresh session for the node of `topic` (its seq tracker wired to gap handling). */
  openNode (topic: EdgeTopic, bdSeq: number | undefined): NodeSession
  emit (source: string, points: Point[]): void
  /** Ask the node for a new birth, unless storm protection says not now. */
  requestRebirth (topic: EdgeTopic, reason: string): void
  /** The node sent its NBIRTH: its pending rebirth request is answered. */
  birthed (nodeKey: string): void
  /** Our STATE reads offline while we are online (a late will): publish the birth again. */
  reassertState (): void
  /** Whether our STATE birth of this connection has been acknowledged. */
  readonly stateLive: boolean
  warn (kind: string, message: string): void
}

export function nodeKey (topic: { groupId: string, edgeNodeId: string }): string {
  return `${topic.groupId}/${topic.edgeNodeId}`
}
