// STATE on our own host id: if it says offline while we are online (our will, published by
// the broker after a dropped connection that was already replaced), publish the birth again,
// or edge nodes would think no primary host is listening. Other hosts' STATE is not ours to act on.
import { parseState } from '../../../schemas/sparkplug/state.js'
import type { StateTopic } from '../../../schemas/sparkplug/topic.js'
import type { HostContext } from '../context.js'

export function state (ctx: HostContext, topic: StateTopic, bytes: Uint8Array): void {
  if (topic.hostId !== ctx.hostId) return
  const s = parseState(bytes)
  if (s === undefined) {
    ctx.warn('state-invalid', `STATE message on ${topic.hostId} is not {"online":bool,"timestamp":ms}`)
    return
  }
  // Before our birth is acknowledged, what we see is the retained STATE of a previous run.
  if (!s.online && ctx.stateLive) ctx.reassertState()
}
