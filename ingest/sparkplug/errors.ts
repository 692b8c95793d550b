// Errors of the Sparkplug B primary host. Codes are stable and never reused (see schemas/errors.ts).
import { FsError } from '../../schemas/errors.js'

/** A Sparkplug message payload is not a valid Sparkplug B protobuf Payload. */
export class SparkplugPayloadInvalid extends FsError {
  readonly code = 'FS_SPARKPLUG_PAYLOAD_INVALID'
}

/** The host could not publish its STATE birth (so it must not claim to be online). */
export class SparkplugStateFailed extends FsError {
  readonly code = 'FS_SPARKPLUG_STATE_FAILED'
}

export const SPARKPLUG_ERROR_CODES = ['FS_SPARKPLUG_PAYLOAD_INVALID', 'FS_SPARKPLUG_STATE_FAILED'] as const
