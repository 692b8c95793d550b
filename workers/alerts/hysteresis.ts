// When a tag's anomaly score opens and closes an alert. An alert opens once the score has stayed
// at or above `openAbove` for `openAfterUs` (a single noisy window does not page anyone) and
// closes once it has stayed below `closeBelow` for `closeAfterUs`; between the two thresholds an
// open alert stays open and a closed one stays closed (hysteresis, so a score hovering around
// one threshold does not flap). Pure: the caller persists and publishes the events.

export interface HysteresisOptions {
  openAbove: number
  closeBelow: number
  openAfterUs: number
  closeAfterUs: number
}

export interface AlertOpened { type: 'opened', tagId: number, openedAtUs: number, peakScore: number }
export interface AlertClosed { type: 'closed', tagId: number, openedAtUs: number, closedAtUs: number, peakScore: number }
export type AlertEvent = AlertOpened | AlertClosed

type Phase =
  | { kind: 'normal' }
  | { kind: 'pending', sinceUs: number, peak: number }
  | { kind: 'open', openedAtUs: number, peak: number }
  | { kind: 'closing', openedAtUs: number, peak: number, belowSinceUs: number }

export class AlertTracker {
  readonly #o: HysteresisOptions
  readonly #phase = new Map<number, Phase>()

  constructor (o: HysteresisOptions) {
    if (!(o.closeBelow <= o.openAbove)) throw new RangeError(`alerts: closeBelow (${o.closeBelow}) must not exceed openAbove (${o.openAbove})`)
    this.#o = o
  }

  /** An alert already open (e.g. found in the store at start), so later scores can close it. */
  restoreOpen (tagId: number, openedAtUs: number, peakScore: number): void {
    this.#phase.set(tagId, { kind: 'open', openedAtUs, peak: peakScore })
  }

  isOpen (tagId: number): boolean {
    const p = this.#phase.get(tagId)
    return p?.kind === 'open' || p?.kind === 'closing'
  }

  /** Feed one score (in time order per tag); returns the event it causes, if any. */
  observe (tagId: number, tsUs: number, score: number): AlertEvent | undefined {
    const o = this.#o
    const p = this.#phase.get(tagId) ?? { kind: 'normal' }
    switch (p.kind) {
      case 'normal':
        if (score < o.openAbove) return undefined
        return this.#pendingOrOpen(tagId, tsUs, tsUs, score)
      case 'pending':
        if (score < o.openAbove) { this.#phase.set(tagId, { kind: 'normal' }); return undefined }
        return this.#pendingOrOpen(tagId, p.sinceUs, tsUs, Math.max(p.peak, score))
      case 'open':
        if (score >= o.closeBelow) { p.peak = Math.max(p.peak, score); return undefined }
        return this.#closingOrClosed(tagId, p.openedAtUs, p.peak, tsUs, tsUs)
      case 'closing':
        if (score >= o.closeBelow) { this.#phase.set(tagId, { kind: 'open', openedAtUs: p.openedAtUs, peak: Math.max(p.peak, score) }); return undefined }
        return this.#closingOrClosed(tagId, p.openedAtUs, p.peak, p.belowSinceUs, tsUs)
    }
  }

  #pendingOrOpen (tagId: number, sinceUs: number, nowUs: number, peak: number): AlertEvent | undefined {
    if (nowUs - sinceUs >= this.#o.openAfterUs) {
      this.#phase.set(tagId, { kind: 'open', openedAtUs: sinceUs, peak })
      return { type: 'opened', tagId, openedAtUs: sinceUs, peakScore: peak }
    }
    this.#phase.set(tagId, { kind: 'pending', sinceUs, peak })
    return undefined
  }

  #closingOrClosed (tagId: number, openedAtUs: number, peak: number, belowSinceUs: number, nowUs: number): AlertEvent | undefined {
    if (nowUs - belowSinceUs >= this.#o.closeAfterUs) {
      this.#phase.set(tagId, { kind: 'normal' })
      return { type: 'closed', tagId, openedAtUs, closedAtUs: belowSinceUs, peakScore: peak }
    }
    this.#phase.set(tagId, { kind: 'closing', openedAtUs, peak, belowSinceUs })
    return undefined
  }
}
