// Batches that are not valid point batches go to the dead-letter topic with the reason
// and where they came from, so they never block their partition and are never dropped.
import type { BatchProducer } from '../common/kafka.js'
import type { BatchMessage } from './consume/partitions.js'

export interface DeadLetter {
  message: BatchMessage
  error: string
}

/** Resolves once Kafka has acknowledged every dead letter (before the offsets move past them). */
export async function deadLetter (producer: BatchProducer, topic: string, letters: readonly DeadLetter[]): Promise<void> {
  await producer.send({
    messages: letters.map(({ message, error }) => ({
      topic,
      key: message.key,
      value: message.value,
      headers: {
        'fieldstream-error': error,
        'fieldstream-topic': message.topic,
        'fieldstream-partition': String(message.partition),
        'fieldstream-offset': message.offset.toString(),
      },
    })),
  })
}
