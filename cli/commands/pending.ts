// Subcommands whose stage is not built yet: they are listed with their purpose so the
// CLI shows the whole pipeline, and say plainly that they are not available.
import type { Command } from 'commander'

const PENDING: ReadonlyArray<[name: string, description: string, issue: number]> = [
  ['api', 'serve the HTTP API, OpenAPI docs and the dashboard', 7],
]

export function registerPending (program: Command): void {
  for (const [name, description, issue] of PENDING) {
    program.command(name)
      .description(`${description} (not available yet: tracked in issue #${issue})`)
      .action(() => {
        process.stderr.write(`fieldstream ${name}: not available in this build yet (tracked in issue #${issue}).\n`)
        process.exitCode = 2
      })
  }
}
