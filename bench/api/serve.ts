// The API process `fieldstream bench api` measures: the real server (api/server.ts) with the
// configuration from the environment, printing `listening <url>` once it accepts connections.
// A separate process so the load generator does not share the server's event loop.
//
// The per-key rate limit is lifted (the bench drives one key far past the default 60,000
// requests per minute on purpose); everything else is the shipped default.
import { startApi } from '../../api/server.js'
import { loadConfig } from '../../schemas/config/load.js'

const base = loadConfig()
const poolSize = Number(process.env.FIELDSTREAM_BENCH_POOL_SIZE ?? base.api.poolSize)
const cfg = { ...base, api: { ...base.api, rateLimitPerMinute: 100_000_000, poolSize } }
const api = await startApi(cfg)
process.stdout.write(`listening ${api.url}\n`)
const stop = (): void => { api.close().then(() => process.exit(0), () => process.exit(1)) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
