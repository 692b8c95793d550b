// Rebirth requests with storm protection. A host that restarts, or a node with a flaky link,
// can produce a rebirth reason on every message; each request makes the node resend its
// whole birth. So per node: at most one request pending (until its NBIRTH arrives or the
// request times out), and never two requests closer than the minimum interval.

export interface RebirthGateOptions {
  /** ms */
  minIntervalMs: number
  /** ms */
  timeoutMs: number
}

interface NodeState { lastAt: number, pending: boolean }

export class RebirthGate {
  readonly #opts: RebirthGateOptions
  readonly #now: () => number
  readonly #nodes = new Map<string, NodeState>()

  constructor (opts: RebirthGateOptions, now: () => number) {
    this.#opts = opts
    this.#now = now
  }

  /** true when a request for `node` may go out now (and records it as pending). */
  admit (node: string): boolean {
    const now = this.#now()
    const state = this.#nodes.get(node)
    if (state !== undefined) {
      const since = now - state.lastAt
      if (state.pending && since < this.#opts.timeoutMs) return false
      if (since < this.#opts.minIntervalMs) return false
    }
    this.#nodes.set(node, { lastAt: now, pending: true })
    return true
  }

  /** The node sent its NBIRTH: nothing pending any more (the minimum interval still applies). */
  birthed (node: string): void {
    const state = this.#nodes.get(node)
    if (state !== undefined) state.pending = false
  }

  isPending (node: string): boolean {
    const state = this.#nodes.get(node)
    return state !== undefined && state.pending && this.#now() - state.lastAt < this.#opts.timeoutMs
  }
}
