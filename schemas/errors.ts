// Every error fieldstream raises on purpose is an FsError with a stable code.
// Codes are never reused: a retired code stays listed in RETIRED_CODES.

export abstract class FsError extends Error {
  abstract readonly code: string
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** A config file or environment override does not match schemas/config. */
export class ConfigInvalid extends FsError {
  readonly code = 'FS_CONFIG_INVALID'
}

/** A config file could not be read or parsed as YAML. */
export class ConfigUnreadable extends FsError {
  readonly code = 'FS_CONFIG_UNREADABLE'
}

/** A Kafka message value is not a valid fieldstream point batch. */
export class BatchCorrupt extends FsError {
  readonly code = 'FS_BATCH_CORRUPT'
}

/** A point batch was built from invalid points (caught before it is encoded). */
export class PointInvalid extends FsError {
  readonly code = 'FS_POINT_INVALID'
}

export const ERROR_CODES = [
  'FS_CONFIG_INVALID', 'FS_CONFIG_UNREADABLE', 'FS_BATCH_CORRUPT', 'FS_POINT_INVALID',
  // stack/errors.ts
  'FS_STACK_MISSING_TOOL', 'FS_STACK_INSTALL_FAILED', 'FS_STACK_START_FAILED', 'FS_STACK_TIMEOUT', 'FS_STACK_CONFIG_INVALID', 'FS_STACK_NOT_MANAGED',
  // workers/store/errors.ts
  'FS_MIGRATION_FAILED',
  // ingest/modbus/errors.ts
  'FS_MODBUS_TIMEOUT', 'FS_MODBUS_CONNECTION_FAILED', 'FS_MODBUS_EXCEPTION', 'FS_MODBUS_BAD_REPLY',
  // ingest/mqtt/errors.ts, ingest/sparkplug/errors.ts
  'FS_MQTT_PAYLOAD_INVALID', 'FS_MQTT_SUBSCRIBE_FAILED', 'FS_MQTT_TLS_UNREADABLE', 'FS_MQTT_CONNECT_REFUSED', 'FS_SPARKPLUG_PAYLOAD_INVALID', 'FS_SPARKPLUG_STATE_FAILED',
  // ingest/spool/errors.ts
  'FS_SPOOL_FULL', 'FS_SPOOL_CORRUPT', 'FS_SPOOL_LOCKED',
  // workers/score/errors.ts
  'FS_MODEL_UNREADABLE', 'FS_MODEL_INVALID',
] as const
export const RETIRED_CODES: readonly string[] = []
