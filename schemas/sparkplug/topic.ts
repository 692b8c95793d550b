// The Sparkplug B topic namespace (Sparkplug 3.0, chapter 4 "Topics and Messages").
// https://sparkplug.eclipse.org/specification/version/3.0/documents/sparkplug-specification-3.0.0.pdf
//   spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]
//   spBv1.0/STATE/<sparkplug_host_id>

export const NAMESPACE = 'spBv1.0'

/** Message types that travel under a group and edge node. */
export const NODE_MESSAGE_TYPES = ['NBIRTH', 'NDEATH', 'NDATA', 'NCMD'] as const
export const DEVICE_MESSAGE_TYPES = ['DBIRTH', 'DDEATH', 'DDATA', 'DCMD'] as const
export type NodeMessageType = (typeof NODE_MESSAGE_TYPES)[number]
export type DeviceMessageType = (typeof DEVICE_MESSAGE_TYPES)[number]
export type EdgeMessageType = NodeMessageType | DeviceMessageType

export interface EdgeTopic {
  type: EdgeMessageType
  groupId: string
  edgeNodeId: string
  /** Set for device messages (DBIRTH, DDATA, ...), undefined for node messages. */
  deviceId: string | undefined
}

export interface StateTopic {
  type: 'STATE'
  hostId: string
}

export type SparkplugTopic = EdgeTopic | StateTopic

const nodeTypes: ReadonlySet<string> = new Set(NODE_MESSAGE_TYPES)
const deviceTypes: ReadonlySet<string> = new Set(DEVICE_MESSAGE_TYPES)

/** Parse a topic of the spBv1.0 namespace; undefined when it is not a valid Sparkplug B topic. */
export function parseTopic (topic: string): SparkplugTopic | undefined {
  const parts = topic.split('/')
  if (parts[0] !== NAMESPACE) return undefined
  if (parts[1] === 'STATE') return parts.length === 3 && parts[2] !== '' ? { type: 'STATE', hostId: parts[2]! } : undefined
  const [, groupId, type, edgeNodeId, deviceId] = parts
  if (groupId === undefined || groupId === '' || edgeNodeId === undefined || edgeNodeId === '' || type === undefined) return undefined
  if (parts.length === 4 && nodeTypes.has(type)) return { type: type as NodeMessageType, groupId, edgeNodeId, deviceId: undefined }
  if (parts.length === 5 && deviceTypes.has(type) && deviceId !== '') return { type: type as DeviceMessageType, groupId, edgeNodeId, deviceId }
  return undefined
}

export function nodeTopic (groupId: string, type: NodeMessageType, edgeNodeId: string): string {
  return `${NAMESPACE}/${groupId}/${type}/${edgeNodeId}`
}

export function deviceTopic (groupId: string, type: DeviceMessageType, edgeNodeId: string, deviceId: string): string {
  return `${NAMESPACE}/${groupId}/${type}/${edgeNodeId}/${deviceId}`
}

export function stateTopic (hostId: string): string {
  return `${NAMESPACE}/STATE/${hostId}`
}

/** Sparkplug ids are single topic levels: no '/', '+' or '#'. */
export function isValidId (id: string): boolean {
  return id.length > 0 && !/[/+#]/.test(id)
}

/** The node control metric an edge node answers with a new NBIRTH (spec 6.4.17). */
export const REBIRTH_METRIC = 'Node Control/Rebirth'
/** The NBIRTH/NDEATH metric that pairs a death certificate with its birth (spec 6.4.2). */
export const BDSEQ_METRIC = 'bdSeq'
/** Sequence numbers run 0..255 and wrap (spec 6.4.4). */
export const SEQ_MODULUS = 256
