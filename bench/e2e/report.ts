// The markdown report and the SVG plot of `bench e2e` (bench/results/, git-ignored). The plot
// is a few hand-written SVG polylines: throughput offered and stored over time, latency p50/p99
// over time; no plotting dependency.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Series { name: string, color: string, points: ReadonlyArray<readonly [number, number]> }

export interface RunTimeline {
  label: string
  /** [seconds since the field started, points/s]. */
  offered: Series['points']
  stored: Series['points']
  /** [seconds, ms]: p50 and p99 of the latency samples per 5-s bucket; absent: no latency chart. */
  p50?: Series['points']
  p99?: Series['points']
  /** Legend of the stored series. Default "stored (workers)". */
  storedName?: string
}

const W = 860
const H = 240
const PAD = { l: 70, r: 150, t: 28, b: 34 }

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
}

function niceMax (v: number): number {
  if (!(v > 0)) return 1
  const e = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * e >= v) return m * e
  return 10 * e
}

function fmt (v: number): string {
  const short = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1))
  return v >= 1e6 ? `${short(v / 1e6)}M` : v >= 1e3 ? `${short(Math.round(v / 100) / 10)}k` : String(Math.round(v))
}

/** One chart: a frame, 5 y ticks, x ticks every 30/60 s, a legend on the right. */
function chart (y0: number, title: string, unit: string, input: readonly Series[]): string {
  // Samples from before the field started (workers and the naive consumer start first) are left out.
  const series = input.map(s => ({ ...s, points: s.points.filter(p => p[0] >= 0) }))
  const all = series.flatMap(s => s.points)
  const xMax = Math.max(10, ...all.map(p => p[0]))
  const yMax = niceMax(Math.max(0, ...all.map(p => p[1])))
  const pw = W - PAD.l - PAD.r
  const ph = H - PAD.t - PAD.b
  const x = (v: number): number => PAD.l + (v / xMax) * pw
  const y = (v: number): number => y0 + PAD.t + ph - (Math.min(v, yMax) / yMax) * ph
  const out: string[] = [`<text x="${PAD.l}" y="${y0 + 18}" font-size="14" font-weight="bold">${esc(title)}</text>`]
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5
    out.push(`<line x1="${PAD.l}" x2="${PAD.l + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`, `<text x="${PAD.l - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${fmt(v)}</text>`)
  }
  const step = xMax > 240 ? 60 : xMax > 60 ? 30 : 10
  for (let s = 0; s <= xMax; s += step) out.push(`<text x="${x(s)}" y="${y0 + H - 14}" font-size="11" text-anchor="middle">${s}</text>`)
  out.push(`<text x="${PAD.l + pw / 2}" y="${y0 + H - 1}" font-size="11" text-anchor="middle">seconds since the field started</text>`)
  out.push(`<text x="14" y="${y0 + PAD.t + ph / 2}" font-size="11" transform="rotate(-90 14 ${y0 + PAD.t + ph / 2})" text-anchor="middle">${esc(unit)}</text>`)
  out.push(`<rect x="${PAD.l}" y="${y0 + PAD.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`)
  series.forEach((s, i) => {
    if (s.points.length > 0) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${s.points.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')}"/>`)
    const ly = y0 + PAD.t + 14 + i * 16
    out.push(`<line x1="${W - PAD.r + 10}" x2="${W - PAD.r + 30}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`, `<text x="${W - PAD.r + 34}" y="${ly}" font-size="11">${esc(s.name)}</text>`)
  })
  return out.join('\n')
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b']

export function plotSvg (runs: readonly RunTimeline[]): string {
  const parts: string[] = []
  let y0 = 0
  for (const r of runs) {
    parts.push(chart(y0, `${r.label}: throughput`, 'points/s', [
      { name: 'offered (simulator)', color: COLORS[0]!, points: r.offered },
      { name: r.storedName ?? 'stored (workers)', color: COLORS[1]!, points: r.stored },
    ]))
    y0 += H
    if (r.p50 === undefined || r.p99 === undefined) continue
    parts.push(chart(y0, `${r.label}: latency source -> queryable`, 'ms', [
      { name: 'p50 per 5 s', color: COLORS[2]!, points: r.p50 },
      { name: 'p99 per 5 s', color: COLORS[3]!, points: r.p99 },
    ]))
    y0 += H
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y0}" viewBox="0 0 ${W} ${y0}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}

export interface ReportFiles { markdown: string, svg: string, json: string }

/** Write `<stamp>.md`, `<stamp>.svg` and `<stamp>.json` into dir; returns their paths. */
export function writeReport (dir: string, stamp: string, markdown: string, svg: string, result: Record<string, unknown>): ReportFiles {
  mkdirSync(dir, { recursive: true })
  const files = { markdown: join(dir, `e2e-${stamp}.md`), svg: join(dir, `e2e-${stamp}.svg`), json: join(dir, `e2e-${stamp}.json`) }
  writeFileSync(files.markdown, markdown)
  writeFileSync(files.svg, svg)
  writeFileSync(files.json, JSON.stringify(result, null, 2) + '\n')
  return files
}

/** Per-bucket p50/p99 of latency samples. */
export function latencySeries (samples: ReadonlyArray<{ at: number, ms: number }>, t0: number, bucketS = 5): { p50: Array<[number, number]>, p99: Array<[number, number]> } {
  const buckets = new Map<number, number[]>()
  for (const s of samples) {
    const b = Math.floor((s.at - t0) / 1000 / bucketS)
    if (b < 0) continue
    let list = buckets.get(b)
    if (list === undefined) buckets.set(b, list = [])
    list.push(s.ms)
  }
  const p50: Array<[number, number]> = []
  const p99: Array<[number, number]> = []
  for (const b of [...buckets.keys()].sort((a, c) => a - c)) {
    const list = buckets.get(b)!.sort((a, c) => a - c)
    const at = (b + 0.5) * bucketS
    p50.push([at, list[Math.floor(list.length * 0.5)]!])
    p99.push([at, list[Math.min(list.length - 1, Math.floor(list.length * 0.99))]!])
  }
  return { p50, p99 }
}
