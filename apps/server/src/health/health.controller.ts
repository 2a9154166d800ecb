import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Metrics, WorkerHealth } from '#ingest';
import type { Database, InboxRepository, ReadReplicas } from '#store';
import { DATABASE, INBOX, METRICS, READ_REPLICAS, WORKER_HEALTH } from '../tokens.js';
import { Access } from '../auth/access.js';
import { readiness, scrape, type HealthSources } from './health.js';

/** The api's probes and metrics (health.ts says what each answers). */
@Controller()
export class HealthController {
  private readonly sources: HealthSources;

  constructor(
    @Inject(DATABASE) db: Database,
    @Inject(INBOX) inbox: InboxRepository,
    @Inject(METRICS) metrics: Metrics,
    @Inject(WORKER_HEALTH) worker: WorkerHealth,
    @Inject(READ_REPLICAS) replicas: ReadReplicas | null,
  ) {
    this.sources = { db, inbox, metrics, worker, replicas };
  }

  /** Live: the process answers. */
  @Access('public')
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  @Access('public')
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply) {
    const { ready, body } = await readiness(this.sources);
    return reply.status(ready ? 200 : 503).send(body);
  }

  @Access('public')
  @Get('metrics')
  async scrape(@Res() reply: FastifyReply) {
    const { contentType, text } = await scrape(this.sources);
    return reply.status(200).header('content-type', contentType).send(text);
  }
}
