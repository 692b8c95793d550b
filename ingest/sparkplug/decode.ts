// Sparkplug B payload decoding with Eclipse Tahu's generated protobuf code (the codec inside
// `sparkplug-payload`). We read Tahu's raw Payload rather than its decodePayload(): a DATA
// metric may omit its datatype (only the birth must carry it), and decodePayload() then
// returns a null value; the raw message lets us read the field the birth's datatype names.
import proto from 'sparkplug-payload/lib/sparkplugPayloadProto.js'
import { SparkplugPayloadInvalid } from './errors.js'

const { Payload } = proto.org.eclipse.tahu.protobuf

export type RawMetric = proto.org.eclipse.tahu.protobuf.Payload.IMetric

export interface SparkplugPayload {
  /** ms since the Unix epoch, when present. */
  timestamp: number | undefined
  seq: number | undefined
  metrics: RawMetric[]
}

export function decodePayload (bytes: Uint8Array): SparkplugPayload {
  let p: proto.org.eclipse.tahu.protobuf.Payload
  try {
    p = Payload.decode(bytes)
  } catch (err) {
    throw new SparkplugPayloadInvalid(`not a Sparkplug B payload: ${(err as Error).message}`)
  }
  return {
    timestamp: p.timestamp == null ? undefined : toNumber(p.timestamp),
    seq: p.seq == null ? undefined : toNumber(p.seq),
    metrics: p.metrics,
  }
}

/** What protobufjs hands us for a 64-bit field: a `long` Long (typed structurally, `long` is Tahu's own dependency). */
interface LongLike { toNumber (): number, toSigned (): { toNumber (): number } }

/** uint64 fields arrive as Long (or number); precision beyond 2^53 is lost, as for any float64 value. */
export function toNumber (v: number | object): number {
  return typeof v === 'number' ? v : (v as LongLike).toNumber()
}

export function toSignedNumber (v: number | object): number {
  return typeof v === 'number' ? v : (v as LongLike).toSigned().toNumber()
}

/** The metric's own field, not a protobuf default inherited from the prototype. */
export function has (m: RawMetric, field: keyof RawMetric): boolean {
  return Object.hasOwn(m, field) && m[field] != null
}
