// The topics fieldstream needs, as the config describes them.
import type { Config } from '../schemas/config/schema.js'
import type { TopicSpec } from '../common/kafka.js'

export function pipelineTopics (cfg: Readonly<Config>): TopicSpec[] {
  const { partitions, replicationFactor, topics } = cfg.kafka
  return [
    { name: topics.points, partitions, replicationFactor },
    { name: topics.deadLetter, partitions: 1, replicationFactor },
    { name: topics.alerts, partitions: 1, replicationFactor },
  ]
}
