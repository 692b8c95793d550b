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

/** The broker refused the collector's first connection for a reason retrying cannot fix (credentials, TLS trust). */
export class MqttConnectRefused extends FsError {
  readonly code = 'FS_MQTT_CONNECT_REFUSED'
}

/** The broker refused a subscription (SUBACK with a failure reason code). */
export class MqttSubscribeFailed extends FsError {
  readonly code = 'FS_MQTT_SUBSCRIBE_FAILED'
}

export const MQTT_ERROR_CODES = ['FS_MQTT_PAYLOAD_INVALID', 'FS_MQTT_TLS_UNREADABLE', 'FS_MQTT_SUBSCRIBE_FAILED', 'FS_MQTT_CONNECT_REFUSED'] as const
