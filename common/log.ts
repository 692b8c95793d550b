// Logging: one line per event on stderr, `level component: message`, so stdout stays
// free for results (benchmark JSON lines, CSV). FIELDSTREAM_LOG=debug|info|warn|error.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type LogLevel = keyof typeof LEVELS

export interface Logger {
  debug (message: string): void
  info (message: string): void
  warn (message: string): void
  error (message: string): void
}

function threshold (): number {
  const name = process.env.FIELDSTREAM_LOG as LogLevel | undefined
  return LEVELS[name ?? 'info'] ?? LEVELS.info
}

export function createLogger (component: string): Logger {
  const min = threshold()
  const emit = (level: LogLevel) => (message: string): void => {
    if (LEVELS[level] < min) return
    process.stderr.write(`${new Date().toISOString()} ${level} ${component}: ${message}\n`)
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
