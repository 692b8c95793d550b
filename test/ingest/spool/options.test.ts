// collectors.spool is checked once, with messages naming the option.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { resolveSpoolOptions } from '../../../ingest/spool/index.js'
import { loadConfig } from '../../../schemas/config/load.js'
import { repoPath } from '../../helpers/repo.js'

t.test('defaults resolve; impossible combinations name the options', async t => {
  const cfg = loadConfig({ env: {} })
  const o = resolveSpoolOptions(cfg.collectors.spool)
  t.equal(o.maxBytes, 1024 * 1024 * 1024)
  t.equal(o.policy, 'reject-new')
  t.equal(o.fsync, 'write')
  t.throws(() => resolveSpoolOptions({ ...cfg.collectors.spool, maxMB: 10, segmentMB: 6 }), { code: 'FS_CONFIG_INVALID', message: /collectors\.spool\.segmentMB must be at most half of collectors\.spool\.maxMB/ })
  t.throws(() => resolveSpoolOptions({ ...cfg.collectors.spool, retryMinMs: 500, retryMaxMs: 100 }), { code: 'FS_CONFIG_INVALID', message: /collectors\.spool\.retryMaxMs/ })
})

t.test('the schema rejects an unknown policy, naming the path and line', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'fs-spool-cfg-'))
  const file = join(dir, 'c.yaml')
  writeFileSync(file, 'collectors:\n  spool:\n    policy: drop-newest\n')
  t.throws(() => loadConfig({ file, env: {} }), { code: 'FS_CONFIG_INVALID', message: /line 3, collectors\.spool\.policy/ })
})

t.test('ingest/spool/sample.yaml is a valid config', async t => {
  const cfg = loadConfig({ file: repoPath('ingest/spool/sample.yaml'), env: {} })
  t.equal(cfg.collectors.spool.policy, 'drop-oldest')
  t.ok(resolveSpoolOptions(cfg.collectors.spool))
})
