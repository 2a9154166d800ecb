import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Metrics, WorkerHealth } from '#ingest';
import type { Database, InboxRepository, ReadReplicas } from '#store';
import { DATABASE, INBOX, METRICS, READ_REPLICAS, WORKER_HEALTH } from '../tokens.js';
import { Access } from '../auth/access.js';

@Controller()
export class HealthController {
  constructor(
    @Inject(DATABASE) private readonly db: Database,
    @Inject(INBOX) private readonly inbox: InboxRepository,
    @Inject(METRICS) private readonly metrics: Metrics,
    @Inject(WORKER_HEALTH) private readonly worker: WorkerHealth,
    @Inject(READ_REPLICAS) private readonly replicas: ReadReplicas | null,
  ) {}

  /** Live: the process answers. */
  @Access('public')
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /**
   * Ready: the database answers, every migration is applied, and the job runner of this process
   * (if it runs one) is taking jobs: not while it is restarting after a stop or stall, nor while
   * the process is shutting down. Read replicas are reported (lag, in rotation) but never make
   * the process unready: with none in rotation the read model reads from the primary.
   */
  @Access('public')
  @Get('readyz')
  async readyz(@Res() reply: FastifyReply) {
    const database = await this.db.isReady();
    const worker = this.worker.snapshot();
    const ready = database && this.worker.ready;
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      database,
      worker: worker.state,
      workerRestarts: worker.restarts,
      ...(worker.reason ? { workerReason: worker.reason } : {}),
      ...(this.replicas ? { replicas: this.replicas.status() } : {}),
    });
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
