// What every benchmark line states about the machine it ran on.
import { cpus, totalmem, loadavg } from 'node:os'

export interface MachineInfo { cpus: number, cpu_model: string, mem_gb: number, node: string, load1: number }

export function machineInfo (): MachineInfo {
  const list = cpus()
  return {
    cpus: list.length,
    cpu_model: list[0]?.model.trim() ?? 'unknown',
    mem_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load1: Number(loadavg()[0]!.toFixed(2)),
  }
}

export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** One JSON line on stdout: the benchmark's result. */
export function printResult (result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...result, machine: machineInfo() }) + '\n')
}
