// How every subcommand gets its config: --config, else $FIELDSTREAM_CONFIG, else defaults;
// environment overrides on top. Errors are printed plainly, without a stack trace.
import type { Command } from 'commander'
import { loadConfig } from '../schemas/config/load.js'
import type { Config } from '../schemas/config/schema.js'

export function configOf (command: Command): Readonly<Config> {
  const file = command.optsWithGlobals<{ config?: string }>().config
  return loadConfig({ file })
}
