// Config of the collectors' store-and-forward spool (section `collectors.spool`). Owned by ingest/spool.
import { Type, type Static } from '@sinclair/typebox'

export const SpoolSchema = Type.Object({
  /** Spool folder, relative to the working directory. */
  dir: Type.String({ minLength: 1, default: '.fieldstream/spool' }),
}, { additionalProperties: false, default: {} })

export type SpoolConfig = Static<typeof SpoolSchema>
