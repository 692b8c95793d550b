export { createMqttCollector, type MqttCollector, type MqttCollectorDeps, type MqttCollectorStats } from './collector.js'
export { MqttPayloadInvalid, MqttSubscribeFailed, MqttTlsUnreadable, MQTT_ERROR_CODES } from './errors.js'
