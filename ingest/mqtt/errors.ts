// Errors of the MQTT collector. Codes are stable and never reused (see schemas/errors.ts).
import { FsError } from '../../schemas/errors.js'

/** A message payload could not be turned into points (not JSON, missing value, bad timestamp ...). */
export class MqttPayloadInvalid extends FsError {
  readonly code = 'FS_MQTT_PAYLOAD_INVALID'
}

/** A TLS file named in collectors.mqtt.tls could not be read. */
export class MqttTlsUnreadable extends FsError {
  readonly code = 'FS_MQTT_TLS_UNREADABLE'
}

/** The broker refused a subscription (SUBACK with a failure reason code). */
export class MqttSubscribeFailed extends FsError {
  readonly code = 'FS_MQTT_SUBSCRIBE_FAILED'
}

export const MQTT_ERROR_CODES = ['FS_MQTT_PAYLOAD_INVALID', 'FS_MQTT_TLS_UNREADABLE', 'FS_MQTT_SUBSCRIBE_FAILED'] as const
