// Errors of anomaly scoring. Codes are registered in schemas/errors.ts (ERROR_CODES).
import { FsError } from '../../schemas/errors.js'

/** The model file could not be read (missing, unreadable). */
export class ModelUnreadable extends FsError {
  readonly code = 'FS_MODEL_UNREADABLE'
}

/** The file is not a loadable ONNX model, or its inputs/outputs break the model contract (schemas/model/contract.md). */
export class ModelInvalid extends FsError {
  readonly code = 'FS_MODEL_INVALID'
}
