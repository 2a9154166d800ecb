import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Metrics } from '#ingest';
import type { Database, InboxRepository } from '#store';
import { DATABASE, INBOX, METRICS } from '../tokens.js';
import { Access } from '../auth/access.js';

@Controller()
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly db: Database,
    @Inject(INBOX) private readonly inbox: InboxRepository,
    @Inject(METRICS) private readonly metrics: Metrics,
  ) {}

  /** Live: the process answers. */
  @Access('public')
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /** Ready: the database answers and every migration is applied. */
  @Access('public')
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply) {
    const ready = await this.db.isReady();
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database: ready });
  }

  @Access('public')
  @Get('metrics')
  async scrape(@Res() reply: FastifyReply) {
    try {
      const backlog = await this.inbox.backlog();
      this.metrics.queuePending.set(backlog.pending);
      this.metrics.queueLag.set(backlog.oldestAgeSeconds);
      this.metrics.eventsFailed.set(backlog.failed);
    } catch {
      // Database down: the counters still answer; readiness reports the outage.
    }
    return reply
      .status(200)
      .header('content-type', this.metrics.registry.contentType)
      .send(await this.metrics.registry.metrics());
  }
}
