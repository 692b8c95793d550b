import t from 'tap'
import { compileFilter, compileTemplate } from '../../../ingest/mqtt/topic.js'

t.test('filters match + and # like a broker does', async t => {
  const cases: [string, string, boolean][] = [
    ['a/+/c', 'a/b/c', true], ['a/+/c', 'a/b/d', false], ['a/+/c', 'a/b/c/d', false],
    ['a/#', 'a', true], ['a/#', 'a/b/c', true], ['a/#', 'b/c', false], ['#', 'x/y', true],
    ['a/b', 'a/b', true], ['+/+', 'a', false],
  ]
  for (const [filter, topic, matches] of cases) t.equal(compileFilter(filter, 'f').match(topic) !== undefined, matches, `${filter} ~ ${topic}`)
})

t.test('templates: levels, {#}, {topic}, {key}', async t => {
  const levels = 'plant/pad7/pump2/data/x/y'.split('/')
  const input = { topic: levels.join('/'), levels, key: 'flow' }
  t.equal(compileTemplate('{1}/{2}/{key}', 'plant/+/+/data/#', 'tag', true)(input), 'pad7/pump2/flow')
  t.equal(compileTemplate('{#}', 'plant/+/+/data/#', 'tag', true)(input), 'x/y')
  t.equal(compileTemplate('src:{topic}', 'plant/#', 'source', false)(input), 'src:plant/pad7/pump2/data/x/y')
})

t.test('template mistakes are config errors naming the option', async t => {
  t.throws(() => compileTemplate('{5}', 'a/+/c', 'collectors.mqtt.subscriptions[0].tag', true), { code: 'FS_CONFIG_INVALID', message: /subscriptions\[0\]\.tag: \{5\} refers to topic level 5 but the filter "a\/\+\/c" has levels 0\.\.2/ })
  t.throws(() => compileTemplate('{#}', 'a/+', 'x.tag', true), { code: 'FS_CONFIG_INVALID', message: /x\.tag: \{#\} needs a topic filter ending in "#"/ })
  t.throws(() => compileTemplate('{key}', 'a/+', 'x.source', false), { code: 'FS_CONFIG_INVALID', message: /unknown placeholder \{key\}/ })
  t.throws(() => compileFilter('a/#/b', 'x.topic'), { code: 'FS_CONFIG_INVALID', message: /x\.topic: "#" must be the last level/ })
  t.throws(() => compileFilter('a/b+', 'x.topic'), { code: 'FS_CONFIG_INVALID', message: /whole level/ })
})
