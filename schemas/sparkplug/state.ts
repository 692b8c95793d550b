// The Primary Host Application's STATE message (Sparkplug 3.0, section 5.14 / 6.4.x):
// topic spBv1.0/STATE/<host_id>, JSON payload, QoS 1, retained. The death (MQTT will) and the
// birth that follows it carry the same timestamp so edge nodes can tell sessions apart.

export interface StatePayload {
  online: boolean
  /** ms since the Unix epoch. */
  timestamp: number
}

export function encodeState (state: StatePayload): Buffer {
  return Buffer.from(JSON.stringify({ online: state.online, timestamp: state.timestamp }))
}

/** undefined when the payload is not a STATE JSON object. */
export function parseState (payload: Uint8Array): StatePayload | undefined {
  try {
    const value = JSON.parse(Buffer.from(payload).toString('utf8')) as unknown
    if (typeof value !== 'object' || value === null) return undefined
    const { online, timestamp } = value as Record<string, unknown>
    if (typeof online !== 'boolean' || typeof timestamp !== 'number') return undefined
    return { online, timestamp }
  } catch {
    return undefined
  }
}
