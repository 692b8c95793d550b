// The shape every local service (Kafka, PostgreSQL, Mosquitto) has, so stack.ts can bring them up,
// down and report them the same way.

export const SERVICE_NAMES = ['kafka', 'postgres', 'mqtt'] as const
export type ServiceName = (typeof SERVICE_NAMES)[number]

export interface Service {
  readonly name: ServiceName
  readonly host: string
  readonly port: number
  /** Where the service writes its log; error messages point here. */
  readonly logFile: string
  /** Pid of the process fieldstream started, if it is alive and is the expected program. */
  managedPid (): number | undefined
  /** True when the service answers its own protocol (not only a TCP accept). */
  ready (): Promise<boolean>
  /** Installs/prepares what is missing, starts the process detached and waits until ready. */
  start (): Promise<void>
  /** Graceful stop of the managed process; waits until it is gone. */
  stop (pid: number): Promise<void>
}

export interface ServiceStatus {
  name: ServiceName
  host: string
  port: number
  /** Something accepts TCP connections on host:port. */
  reachable: boolean
  /** It answers the service's own protocol (Kafka Metadata, pg_isready, MQTT CONNACK). */
  up: boolean
  /** The process was started by fieldstream (our pid file, alive, expected program). */
  managed: boolean
  pid: number | undefined
  logFile: string
}
