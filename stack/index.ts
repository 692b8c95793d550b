// The local service stack (Kafka, PostgreSQL, Mosquitto) behind `fieldstream stack`, also used by
// tests, benchmarks and the fault suite to stop, kill and restart single services.
export { STACK_ERROR_CODES, StackError, type StackErrorCode } from './errors.js'
export { stackOptionsFromConfig, type StackConfigInput, type StackOptions } from './options.js'
export { kafkaMetadata, mqttConnack, type KafkaMetadata } from './probes.js'
export { SERVICE_NAMES, type ServiceName, type ServiceStatus } from './service.js'
export { formatStatus, killService, stackDown, stackStatus, stackUp, startService, stopService } from './stack.js'
