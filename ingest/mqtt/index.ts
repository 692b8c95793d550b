export { createMqttCollector, type MqttCollector, type MqttCollectorDeps, type MqttCollectorStats } from './collector.js'
export { MqttConnectRefused, MqttPayloadInvalid, MqttSubscribeFailed, MqttTlsUnreadable, MQTT_ERROR_CODES } from './errors.js'
