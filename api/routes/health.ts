// Public operational routes: /health (the process answers), /ready (database and Kafka
// reachable) and /metrics (Prometheus text from the project's registry).
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { metricsRegistry } from '../../common/metrics.js'
import type { Readiness } from '../ready.js'

export async function healthRoutes (app: FastifyInstance, { readiness }: { readiness: Readiness }): Promise<void> {
  app.get('/health', {
    schema: { summary: 'Liveness', tags: ['operations'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))

  const Status = Type.Object({
    database: Type.String({ description: '`ok` or why not' }),
    kafka: Type.String({ description: '`ok` or why not' }),
  })
  app.get('/ready', {
    schema: { summary: 'Readiness: database and Kafka reachable', tags: ['operations'], response: { 200: Status, 503: Status } },
  }, async (_req, reply) => {
    const s = await readiness.check()
    return reply.code(s.database === 'ok' && s.kafka === 'ok' ? 200 : 503).send(s)
  })

  app.get('/metrics', {
    schema: { summary: 'Prometheus metrics', tags: ['operations'], produces: ['text/plain'], response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } } } },
  }, async (_req, reply) => {
    reply.type(metricsRegistry.contentType)
    return await metricsRegistry.metrics()
  })
}
