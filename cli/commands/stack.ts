// `fieldstream stack up|down|status`: the local Kafka, PostgreSQL and Mosquitto this project runs on.
import { Command, InvalidArgumentError } from 'commander'
import {
  SERVICE_NAMES, StackError, formatStatus, stackDown, stackOptionsFromConfig, stackStatus, stackUp,
  type ServiceName, type StackOptions,
} from '../../stack/index.js'
import { configOf } from '../config.js'

export function registerStack (program: Command): void {
  const stack = program
    .command('stack')
    .description('run the local services fieldstream needs (Kafka KRaft, PostgreSQL 15, Mosquitto) on 127.0.0.1')

  stack
    .command('up')
    .description('start the services that are not already answering and wait until each is ready (idempotent)')
    .option('--only <services>', `comma-separated subset of ${SERVICE_NAMES.join(',')}`, parseServices)
    .action(async (flags: { only?: ServiceName[] }, command: Command) => {
      await report(command, async (opts) => {
        const statuses = await stackUp(opts, flags.only)
        for (const st of statuses) opts.log(formatStatus(st))
      })
    })

  stack
    .command('down')
    .description('stop the services fieldstream started (SIGTERM, PostgreSQL with pg_ctl stop -m fast); others are left alone')
    .option('--only <services>', `comma-separated subset of ${SERVICE_NAMES.join(',')}`, parseServices)
    .action(async (flags: { only?: ServiceName[] }, command: Command) => {
      await report(command, (opts) => stackDown(opts, flags.only))
    })

  stack
    .command('status')
    .description('one line per service: up/down, managed by fieldstream or not, address, pid')
    .action(async (_flags: unknown, command: Command) => {
      await report(command, async (opts) => {
        for (const st of await stackStatus(opts)) opts.log(formatStatus(st))
      })
    })
}

/** Runs one subcommand; a StackError becomes its code and message on stderr and exit status 1. */
async function report (command: Command, body: (opts: StackOptions) => Promise<void>): Promise<void> {
  try {
    await body(stackOptionsFromConfig(configOf(command)))
  } catch (err) {
    if (!(err instanceof StackError)) throw err
    process.stderr.write(`fieldstream stack: ${err.code}: ${err.message}\n`)
    process.exitCode = 1
  }
}

function parseServices (value: string): ServiceName[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const n of names) {
    if (!(SERVICE_NAMES as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown service "${n}" (expected ${SERVICE_NAMES.join(', ')})`)
  }
  return names as ServiceName[]
}
