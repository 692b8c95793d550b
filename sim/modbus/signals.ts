// Signals of a well pad: slow process swings with sensor noise, from a seeded generator so a
// run can be repeated.

/** mulberry32: small, fast, good enough for simulated noise. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Zero-mean noise, roughly normal (sum of uniforms), with standard deviation `sd`. */
export function noise (random: () => number, sd: number): number {
  return (random() + random() + random() + random() - 2) * sd * Math.sqrt(3)
}

/** A process value swinging around `mean` by `amplitude` with period `periodMs`, phase-shifted per device. */
export function swing (tMs: number, mean: number, amplitude: number, periodMs: number, phase: number): number {
  return mean + amplitude * Math.sin((2 * Math.PI * tMs) / periodMs + phase)
}

/** A tank filling and being drawn down: a triangle wave between lo and hi. */
export function fillDraw (tMs: number, lo: number, hi: number, periodMs: number, phase: number): number {
  const x = ((tMs / periodMs + phase / (2 * Math.PI)) % 1 + 1) % 1
  return lo + (hi - lo) * (x < 0.5 ? 2 * x : 2 - 2 * x)
}
