// The one fieldstream CLI: each subcommand lives in cli/commands/<name>.ts and registers itself here.
import { Command } from 'commander'
import { FsError } from '../schemas/errors.js'
import { ENV_OVERRIDES } from '../schemas/config/env.js'
import { registerApi } from './commands/api.js'
import { registerBench } from './commands/bench.js'
import { registerCollect } from './commands/collect.js'
import { registerDemo } from './commands/demo.js'
import { registerSim } from './commands/sim.js'
import { registerStack } from './commands/stack.js'
import { registerWork } from './commands/work.js'

const envHelp = Object.entries(ENV_OVERRIDES).map(([name, o]) => `  ${name.padEnd(22)} ${o.describe} (config ${o.path.slice(1).replaceAll('/', '.')})`).join('\n')

const program = new Command()
  .name('fieldstream')
  .description('SCADA telemetry pipeline: field devices -> collectors -> Kafka -> workers -> store -> API')
  .option('-c, --config <file>', 'YAML config file (default: $FIELDSTREAM_CONFIG, else built-in defaults)')
  .addHelpText('after', `\nEnvironment overrides (win over the config file):\n  FIELDSTREAM_CONFIG     config file\n${envHelp}\n  FIELDSTREAM_LOG        debug | info | warn | error`)
  .showHelpAfterError()

registerStack(program)
registerSim(program)
registerDemo(program)
registerWork(program)
registerCollect(program)
registerBench(program)
registerApi(program)

try {
  await program.parseAsync(process.argv)
} catch (err) {
  // Our own errors carry a message written for the operator: print it, not a stack trace.
  if (err instanceof FsError || err instanceof RangeError) {
    process.stderr.write(`fieldstream: ${err.message}\n`)
    process.exit(2)
  }
  throw err
}
