// Loading models against the contract: the shipped one fits; models that do not are refused
// with an error naming the problem. Real onnxruntime sessions, hand-written ONNX files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { FEATURES, WINDOW } from '../../../schemas/model/contract.js'
import { ModelInvalid, ModelUnreadable } from '../../../workers/score/errors.js'
import { loadModel } from '../../../workers/score/model.js'
import { SHIPPED_MODEL_PATH } from '../../../workers/score/scorer.js'
import { tinyOnnx, type TinyModel } from './tiny-onnx.js'

const dir = mkdtempSync(join(tmpdir(), 'fs-model-'))
const file = (name: string, m: TinyModel): string => {
  const path = join(dir, name)
  writeFileSync(path, tinyOnnx(m))
  return path
}

t.test('the shipped model loads, fits the contract and scores in [0, 1]', async t => {
  const model = await loadModel(SHIPPED_MODEL_PATH)
  t.teardown(() => model.close())
  t.equal(model.name, 'anomaly-v1')
  t.equal(model.output, 'score')
  const meta = JSON.parse(readFileSync(SHIPPED_MODEL_PATH.replace(/\.onnx$/, '.json'), 'utf8')) as { window: number, features: number, contract: number }
  t.same({ window: meta.window, features: meta.features, contract: meta.contract }, { window: WINDOW, features: FEATURES, contract: 1 }, 'metadata matches the contract')
  const n = 1000
  const input = new Float32Array(n * FEATURES).map((_, i) => Math.sin(i) * 3)
  const scores = await model.score(input, n)
  t.equal(scores.length, n)
  t.ok(scores.every(s => s >= 0 && s <= 1), 'every score in [0, 1]')
  t.ok(new Set(scores).size > 10, 'scores depend on the input')
})

t.test('a user model that fits the contract is accepted: `score` [N, 1], or `probabilities` [N, 2]', async t => {
  const model = await loadModel(file('mine.onnx', {}), { name: 'mine-v3' })
  t.teardown(() => model.close())
  t.equal(model.name, 'mine-v3')
  const input = new Float32Array(2 * FEATURES)
  input.fill(2, FEATURES) // row 1: mean 2
  const s = await model.score(input, 2)
  t.ok(Math.abs(s[0]! - 0.5) < 1e-6 && Math.abs(s[1]! - 1 / (1 + Math.exp(-2))) < 1e-6, `sigmoid of the row mean: ${Array.from(s).join(', ')}`)
})

t.test('models that break the contract fail with FS_MODEL_INVALID naming what is wrong', async t => {
  const cases: Array<[string, TinyModel, RegExp]> = [
    ['wrong width', { inputShape: ['N', 32] }, new RegExp(`input "input" has shape \\[N, 32\\], expected \\[N, ${FEATURES}\\]`)],
    ['fixed batch', { inputShape: [1, FEATURES] }, new RegExp(`input "input" has shape \\[1, ${FEATURES}\\], expected \\[N, ${FEATURES}\\] with N dynamic`)],
    ['wrong input name', { inputName: 'x' }, new RegExp(`no input named "input" \\(inputs: x \\[N, ${FEATURES}\\]\\)`)],
    ['double input', { inputType: 'double' }, /input "input" is float64, expected float32/],
    ['wrong output name', { outputName: 'anomaly' }, /no output named "score" .* outputs: anomaly \[N, 1\]/],
  ]
  for (const [what, m, message] of cases) {
    const err = await loadModel(file(`${what.replaceAll(' ', '-')}.onnx`, m)).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ModelInvalid, `${what}: ModelInvalid`)
    t.equal((err as ModelInvalid).code, 'FS_MODEL_INVALID', what)
    t.match((err as Error).message, message, `${what}: ${(err as Error).message}`)
  }
})

t.test('a file that is not ONNX, a missing file, and a model that gives no probabilities', async t => {
  const text = join(dir, 'notes.onnx')
  writeFileSync(text, 'this is not a model\n')
  await t.rejects(loadModel(text), { code: 'FS_MODEL_INVALID', message: /notes\.onnx is not a loadable ONNX model/ })
  const missing = join(dir, 'missing.onnx')
  const err = await loadModel(missing).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ModelUnreadable)
  t.match((err as Error).message, /missing\.onnx cannot be read: ENOENT/)
  // Fits the declared contract, but its output is a raw mean, not a probability.
  const logits = await loadModel(file('logits.onnx', { op: 'mean' }))
  t.teardown(() => logits.close())
  await t.rejects(logits.score(new Float32Array(FEATURES).fill(3), 1), { code: 'FS_MODEL_INVALID', message: /row 0 is 3, scores must lie in \[0, 1\]/ })
})
