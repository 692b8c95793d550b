// Environment variables that override config file values (12-factor deployments,
// docker-compose). The table is the single source: the loader applies it, `--help`
// lists it and a test checks docker-compose.yml against it.

export interface EnvOverride {
  /** JSON pointer into the config. */
  path: string
  describe: string
  parse: (raw: string) => unknown
}

const text = (raw: string): unknown => raw
const list = (raw: string): unknown => raw.split(',').map(s => s.trim()).filter(s => s !== '')
// A non-number stays a string so the schema reports it ("must be integer") with its path.
const integer = (raw: string): unknown => /^-?[0-9]+$/.test(raw.trim()) ? Number(raw) : raw

export const ENV_OVERRIDES: Readonly<Record<string, EnvOverride>> = Object.freeze({
  KAFKA_BROKERS: { path: '/kafka/brokers', describe: 'comma-separated host:port list', parse: list },
  KAFKA_POINTS_TOPIC: { path: '/kafka/topics/points', describe: 'points topic', parse: text },
  KAFKA_PARTITIONS: { path: '/kafka/partitions', describe: 'partitions of the points topic', parse: integer },
  KAFKA_SASL_MECHANISM: { path: '/kafka/sasl/mechanism', describe: 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512', parse: text },
  KAFKA_SASL_USERNAME: { path: '/kafka/sasl/username', describe: 'Kafka SASL user', parse: text },
  KAFKA_SASL_PASSWORD: { path: '/kafka/sasl/password', describe: 'Kafka SASL password (keep it out of the config file)', parse: text },
  DATABASE_URL: { path: '/database/url', describe: 'postgres://user:pass@host:port/db', parse: text },
  MQTT_URL: { path: '/mqtt/url', describe: 'mqtt://host:port', parse: text },
  MQTT_USERNAME: { path: '/collectors/mqtt/username', describe: 'MQTT collector user', parse: text },
  MQTT_PASSWORD: { path: '/collectors/mqtt/password', describe: 'MQTT collector password (keep it out of the config file)', parse: text },
  API_HOST: { path: '/api/host', describe: 'API listen address', parse: text },
  API_PORT: { path: '/api/port', describe: 'API listen port', parse: integer },
  METRICS_PORT: { path: '/metrics/port', describe: 'Prometheus metrics port of work/collect (0: off)', parse: integer },
  FIELDSTREAM_DATA_DIR: { path: '/stack/dataDir', describe: 'data folder of `fieldstream stack`', parse: text },
})

/** Names the config loader reads besides the overrides. */
export const CONFIG_FILE_ENV = 'FIELDSTREAM_CONFIG'
