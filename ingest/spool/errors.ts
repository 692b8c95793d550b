// Errors of the store-and-forward spool. Codes are never reused (see schemas/errors.ts).
import { FsError } from '../../schemas/errors.js'

/** The spool holds spool.maxMB and its policy is reject-new: the batch was not kept. */
export class SpoolFull extends FsError {
  readonly code = 'FS_SPOOL_FULL'
}

/** A spool segment has a record that fails its checksum before its last record: it is quarantined. */
export class SpoolCorrupt extends FsError {
  readonly code = 'FS_SPOOL_CORRUPT'
}

/** Another process holds the spool folder (two collectors must not share one spool). */
export class SpoolLocked extends FsError {
  readonly code = 'FS_SPOOL_LOCKED'
}

export const SPOOL_ERROR_CODES = ['FS_SPOOL_FULL', 'FS_SPOOL_CORRUPT', 'FS_SPOOL_LOCKED'] as const
