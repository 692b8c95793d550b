// MQTT topic filters (+ and #) and the templates that turn a topic into tag and source names.
import { ConfigInvalid } from '../../schemas/errors.js'

export interface TopicFilter {
  readonly filter: string
  /** The topic's levels when it matches the filter, undefined otherwise. */
  match (topic: string): string[] | undefined
}

export function compileFilter (filter: string, option: string): TopicFilter {
  const levels = filter.split('/')
  levels.forEach((level, i) => {
    if (level === '#' && i !== levels.length - 1) throw new ConfigInvalid(`${option}: "#" must be the last level of the topic filter (got ${JSON.stringify(filter)})`)
    if (level !== '+' && level !== '#' && /[+#]/.test(level)) throw new ConfigInvalid(`${option}: a wildcard must fill a whole level (got ${JSON.stringify(filter)})`)
  })
  const hasHash = levels.at(-1) === '#'
  const fixed = hasHash ? levels.length - 1 : levels.length
  return {
    filter,
    match (topic: string): string[] | undefined {
      const parts = topic.split('/')
      if (hasHash ? parts.length < fixed : parts.length !== fixed) return undefined
      for (let i = 0; i < fixed; i++) {
        if (levels[i] !== '+' && levels[i] !== parts[i]) return undefined
      }
      return parts
    },
  }
}

/** Values a template can refer to. */
export interface TemplateInput {
  topic: string
  levels: readonly string[]
  /** Per-point name from the payload (payload.key), when configured. */
  key?: string | undefined
}

export type Template = (input: TemplateInput) => string

type Part = string | ((input: TemplateInput) => string)

/**
 * Compile `{N}`, `{#}`, `{topic}` and (when allowKey) `{key}` placeholders, checked against the
 * filter once here so a template cannot refer to a level the filter does not have.
 */
export function compileTemplate (template: string, filter: string, option: string, allowKey: boolean): Template {
  const levels = filter.split('/')
  const hashAt = levels.at(-1) === '#' ? levels.length - 1 : -1
  const parts: Part[] = []
  let last = 0
  for (const m of template.matchAll(/\{([^}]*)\}/g)) {
    parts.push(template.slice(last, m.index))
    last = m.index + m[0].length
    const name = m[1]!
    if (name === 'topic') parts.push(input => input.topic)
    else if (name === 'key' && allowKey) parts.push(input => input.key ?? '')
    else if (name === '#') {
      if (hashAt < 0) throw new ConfigInvalid(`${option}: {#} needs a topic filter ending in "#" (filter ${JSON.stringify(filter)})`)
      parts.push(input => input.levels.slice(hashAt).join('/'))
    } else if (/^[0-9]+$/.test(name)) {
      const n = Number(name)
      const limit = hashAt < 0 ? levels.length : hashAt
      if (n >= limit) throw new ConfigInvalid(`${option}: {${n}} refers to topic level ${n} but the filter ${JSON.stringify(filter)} has levels 0..${limit - 1}${hashAt < 0 ? '' : ' before "#" (use {#})'}`)
      parts.push(input => input.levels[n]!)
    } else {
      throw new ConfigInvalid(`${option}: unknown placeholder {${name}} (expected {N}, {#}, {topic}${allowKey ? ', {key}' : ''})`)
    }
  }
  parts.push(template.slice(last))
  const pieces = parts.filter(p => p !== '')
  return input => {
    let out = ''
    for (const p of pieces) out += typeof p === 'string' ? p : p(input)
    return out
  }
}
