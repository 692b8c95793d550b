// Point quality: the OPC DA quality word, the convention SCADA systems already speak.
// Bits 7-6 are the major quality, bits 5-2 the sub-status, bits 1-0 the limit status.
// https://www.opcfoundation.org/ (OPC DA 2.05a, section 6.8 "OPC Quality flags")

export const QualityMajor = {
  bad: 0x00,
  uncertain: 0x40,
  good: 0xc0,
} as const
export type QualityMajorName = keyof typeof QualityMajor

/** Named quality codes used by fieldstream's collectors. */
export const Quality = {
  good: 0xc0,
  goodLocalOverride: 0xd8,
  uncertain: 0x40,
  uncertainLastUsable: 0x44,
  uncertainSensorNotAccurate: 0x50,
  uncertainEuExceeded: 0x54,
  uncertainSubNormal: 0x58,
  bad: 0x00,
  badConfigError: 0x04,
  badNotConnected: 0x08,
  badDeviceFailure: 0x0c,
  badSensorFailure: 0x10,
  badLastKnownValue: 0x14,
  badCommFailure: 0x18,
  badOutOfService: 0x1c,
} as const

/** The major quality (good / uncertain / bad) of a quality word. 0x80 is reserved and reads as bad. */
export function qualityMajor (quality: number): QualityMajorName {
  const major = quality & 0xc0
  if (major === QualityMajor.good) return 'good'
  if (major === QualityMajor.uncertain) return 'uncertain'
  return 'bad'
}

/** The 4-bit sub-status of a quality word. */
export function qualitySubStatus (quality: number): number {
  return (quality >> 2) & 0x0f
}

/** A quality word is 16 bits: 8 defined by OPC, 8 vendor-specific. */
export function isQualityWord (quality: number): boolean {
  return Number.isInteger(quality) && quality >= 0 && quality <= 0xffff
}

/**
 * Flags fieldstream keeps in the vendor byte (bits 8-15) of the quality word.
 * historical: a real value replayed after an outage (e.g. Sparkplug is_historical); it is
 * stored but never taken as the live value of its tag nor alerted on.
 */
export const QualityFlag = { historical: 0x0100 } as const

export function isHistorical (quality: number): boolean {
  return (quality & QualityFlag.historical) !== 0
}
