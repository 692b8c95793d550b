export { PrimaryHost, type PrimaryHostDeps } from './host.js'
export type { SparkplugStats } from './context.js'
export { SparkplugPayloadInvalid, SparkplugStateFailed, SPARKPLUG_ERROR_CODES } from './errors.js'
