// A small PNG decoder for what Chromium's screenshots are: 8-bit RGB or RGBA, not interlaced.
// Enough to count pixels of a colour in a region of a screenshot without another dependency.
// https://www.w3.org/TR/png-3/ (chunks §5, filters §7.3 and §9)
import { inflateSync } from 'node:zlib'

export interface Image {
  width: number
  height: number
  /** RGBA, 4 bytes per pixel, rows top to bottom. */
  rgba: Uint8Array
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
const CHANNELS: Record<number, number> = { 2: 3, 6: 4 } // colour type -> samples per pixel

export function decodePng (png: Buffer): Image {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG (bad signature)')
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at)
    const type = png.toString('latin1', at + 4, at + 8)
    const data = png.subarray(at + 8, at + 8 + length)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      const depth = data[8]!
      const colourType = data[9]!
      const interlace = data[12]!
      channels = CHANNELS[colourType] ?? 0
      if (depth !== 8 || channels === 0 || interlace !== 0) throw new Error(`unsupported PNG: bit depth ${depth}, colour type ${colourType}, interlace ${interlace} (only 8-bit RGB/RGBA, not interlaced)`)
    } else if (type === 'IDAT') {
      idat.push(data)
    } else if (type === 'IEND') {
      break
    }
    at += 12 + length // length, type, data, CRC
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes, expected ${height * (stride + 1)}`)
  const pixels = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const out = y * stride
    const up = out - stride
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[out + x - channels]! : 0
      const b = y > 0 ? pixels[up + x]! : 0
      const c = x >= channels && y > 0 ? pixels[up + x - channels]! : 0
      let predicted: number
      switch (filter) {
        case 0: predicted = 0; break
        case 1: predicted = a; break
        case 2: predicted = b; break
        case 3: predicted = (a + b) >> 1; break
        case 4: predicted = paeth(a, b, c); break
        default: throw new Error(`bad PNG filter type ${filter} on row ${y}`)
      }
      pixels[out + x] = (line[x]! + predicted) & 0xff
    }
  }
  if (channels === 4) return { width, height, rgba: pixels }
  const rgba = new Uint8Array(width * height * 4)
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    rgba[j] = pixels[i]!; rgba[j + 1] = pixels[i + 1]!; rgba[j + 2] = pixels[i + 2]!; rgba[j + 3] = 255
  }
  return { width, height, rgba }
}

function paeth (a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}

export interface Region { x: number, y: number, width: number, height: number }

/** Pixels in `region` within `tolerance` (per channel) of the colour `#rrggbb`. */
export function countColour (image: Image, hex: string, region: Region, tolerance = 12): number {
  const r = parseInt(hex.slice(1, 3), 16)
  const g = parseInt(hex.slice(3, 5), 16)
  const b = parseInt(hex.slice(5, 7), 16)
  const x0 = Math.max(0, Math.floor(region.x))
  const y0 = Math.max(0, Math.floor(region.y))
  const x1 = Math.min(image.width, Math.ceil(region.x + region.width))
  const y1 = Math.min(image.height, Math.ceil(region.y + region.height))
  let n = 0
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * image.width + x) * 4
      if (Math.abs(image.rgba[i]! - r) <= tolerance && Math.abs(image.rgba[i + 1]! - g) <= tolerance && Math.abs(image.rgba[i + 2]! - b) <= tolerance) n++
    }
  }
  return n
}
