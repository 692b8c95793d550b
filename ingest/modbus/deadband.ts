// Report-by-exception per field: a good value within its deadband of the last value sent is
// held back, until the heartbeat says the last one sent is too old to stand for the present
// (a flat line must still show the reader that the device is alive).
import { Quality } from '../../schemas/quality.js'

export class DeadbandFilter {
  readonly #deadband: Float64Array
  readonly #heartbeatUs: number
  readonly #lastValue: Float64Array
  readonly #lastQuality: Int32Array
  readonly #lastTimeUs: Float64Array

  /** `deadbands[i]` in engineering units (0 = send every poll); `heartbeatMs` as in deadbandHeartbeatMs. */
  constructor (deadbands: readonly number[], heartbeatMs: number) {
    this.#deadband = Float64Array.from(deadbands)
    this.#heartbeatUs = heartbeatMs * 1000
    this.#lastValue = new Float64Array(deadbands.length)
    this.#lastQuality = new Int32Array(deadbands.length).fill(-1)
    this.#lastTimeUs = new Float64Array(deadbands.length)
  }

  /** Whether field i's reading should be sent; remembers it as the last sent when it is. */
  pass (i: number, value: number, quality: number, timeUs: number): boolean {
    const band = this.#deadband[i]!
    const send = band === 0 ||
      quality !== Quality.good ||
      this.#lastQuality[i] !== quality ||
      Math.abs(value - this.#lastValue[i]!) > band ||
      timeUs - this.#lastTimeUs[i]! >= this.#heartbeatUs
    if (send) {
      this.#lastValue[i] = value
      this.#lastQuality[i] = quality
      this.#lastTimeUs[i] = timeUs
    }
    return send
  }
}
