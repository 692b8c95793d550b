// The store-and-forward spool of the collectors' Kafka sink. See README.md.
export { SpoolCorrupt, SpoolFull, SpoolLocked, SPOOL_ERROR_CODES } from './errors.js'
export { resolveSpoolOptions } from './options.js'
export { SeqAllocator, SEQ_BLOCK } from './seq.js'
export { comparePositions, Spool, type Position, type ReadRecord, type SpoolOptions, type SpoolStats } from './spool.js'
export type { SpoolEntry, SpoolRecord } from './record.js'
