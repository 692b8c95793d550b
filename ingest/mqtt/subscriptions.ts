// Configured subscriptions compiled once at start: topic filter, tag and source templates,
// JSON extractor. A template that cannot work with its filter is a config error naming the option.
import type { MqttSubscriptionConfig } from '../../schemas/config/mqtt-collector.js'
import type { Point } from '../../schemas/points.js'
import { compileJsonPayload, type JsonExtractor } from './json.js'
import { compileFilter, compileTemplate, type Template, type TopicFilter } from './topic.js'

export interface Route {
  filter: TopicFilter
  qos: 0 | 1
  tag: Template
  source: Template
  extract: JsonExtractor
}

export interface Routed {
  source: string
  points: Point[]
}

export function compileSubscriptions (subs: readonly MqttSubscriptionConfig[]): Route[] {
  return subs.map((sub, i) => {
    const option = `collectors.mqtt.subscriptions[${i}]`
    const filter = compileFilter(sub.topic, `${option}.topic`)
    return {
      filter,
      qos: sub.qos,
      tag: compileTemplate(sub.tag, sub.topic, `${option}.tag`, true),
      source: compileTemplate(sub.source, sub.topic, `${option}.source`, false),
      extract: compileJsonPayload(sub.payload),
    }
  })
}

/**
 * The points of one message, by the first subscription whose filter matches its topic.
 * undefined when none matches; throws MqttPayloadInvalid when the payload does not parse.
 */
export function routeMessage (routes: readonly Route[], topic: string, payload: Uint8Array, receivedUs: number): Routed | undefined {
  for (const route of routes) {
    const levels = route.filter.match(topic)
    if (levels === undefined) continue
    const readings = route.extract(payload, receivedUs)
    const points: Point[] = new Array(readings.length)
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i]!
      points[i] = { tag: route.tag({ topic, levels, key: r.key }), timeUs: r.timeUs, value: r.value, quality: r.quality }
    }
    return { source: route.source({ topic, levels }), points }
  }
  return undefined
}
