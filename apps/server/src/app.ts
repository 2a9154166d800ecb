import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RefgraphConfig } from '#config';
import { INGEST_TASK, SYNC_TASK, VERIFY_TASK } from '#store';
import {
  schedulePeriodicReconcile,
  startQueueWorker,
  deferWhenBusy,
  syncTask,
  requeueStaleVerifications,
  StaleVerificationRequeuer,
  verifyTask,
} from '#ingest';
import type { Runner } from 'graphile-worker';
import type { Logger } from 'pino';
import { readFileSync } from 'node:fs';
import { AppModule } from './app.module.js';
import { declaredAccess, type Access } from './auth/access.js';
import { installAuth, warnWhenOpen } from './auth/auth.hook.js';
import { createWorkerListener } from './health/worker-listener.js';
import type { FastifyInstance } from 'fastify';
import { installResponseCap } from './graphql/response-cap.js';
import { firstRunRoutes } from './first-run.js';
import { closeWithin, trackUpgrades } from './http/drain.js';
import { installHeavyGate } from './http/heavy-gate.js';
import { installRequestMetrics } from './http/request-metrics.js';
import { AllErrorsFilter, installRequestErrors } from './http/errors.js';
import { JsonLogger } from './logger.js';
import { buildRuntime, type Runtime } from './runtime.js';
import { WebhookReceiver } from './webhooks/webhook.receiver.js';
import { webhookRoutes } from './webhooks/webhook.routes.js';
import { referrersRoutes } from './referrers/referrers.routes.js';
import { createRegistryView } from './referrers/registry-view.js';
import { OciTokens } from './auth/oci-token.js';

export type Role = 'all' | 'api' | 'worker';

export interface AppOptions {
  config: RefgraphConfig;
  databaseUrl: string;
  logger: Logger;
  role?: Role;
}

export interface RegisteredRoute {
  method: string;
  url: string;
  /** undefined: the route declares no policy, and the auth hook denies it. */
  access: Access | undefined;
}

export interface RunningApp {
  runtime: Runtime;
  app?: NestFastifyApplication;
  /** The worker role's probes-and-metrics listener (only when the process runs no api). */
  workerListener?: FastifyInstance;
  worker?: Runner;
  /** Every route registered on the HTTP server with its declared access, for the route-policy walk. */
  routes: RegisteredRoute[];
  /** Re-queues stale results when the trust policy changes at run time (worker role). */
  trustChanges?: StaleVerificationRequeuer;
  /**
   * Listens on config.server.port (config.worker.port for the worker role's listener; 0 picks a
   * free one) and returns the base URL.
   */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<RunningApp> {
  const role = opts.role ?? 'all';
  const runtime = await buildRuntime(opts.config, opts.databaseUrl, opts.logger, {
    replicas: role !== 'worker',
  });
  const { config, logger } = runtime;

  let app: NestFastifyApplication | undefined;
  let workerListener: FastifyInstance | undefined;
  let worker: Runner | undefined;
  let trustChanges: StaleVerificationRequeuer | undefined;
  let stopListening: (() => void) | undefined;
  const routes: RegisteredRoute[] = [];
  try {
    if (role !== 'worker') {
      const tls = config.server.tls;
      const adapter = new FastifyAdapter({
        bodyLimit: config.server.bodyLimitBytes,
        // Path parameters reach their routes, whose schemas decide: a sha512 digest is 135
        // characters, a vulnerability id up to 128. Past Fastify's default of 100 the router
        // answered 414 in its own shape before any route (or its validation) ran.
        routerOptions: { maxParamLength: 256 },
        // Off unless listed: X-Forwarded-For from anyone else would pick the rate-limit key.
        trustProxy: config.server.trustProxy.length ? config.server.trustProxy : false,
        ...(tls
          ? {
              https: {
                cert: readFileSync(tls.certFile),
                key: readFileSync(tls.keyFile),
                ...(tls.clientCaFile
                  ? { ca: readFileSync(tls.clientCaFile), requestCert: true, rejectUnauthorized: true }
                  : {}),
              },
            }
          : {}),
      });
      const fastify = adapter.getInstance();
      trackUpgrades(fastify.server);
      installRequestErrors(fastify, logger);
      fastify.addHook('onRoute', (r) => {
        const access = declaredAccess(r.config);
        for (const method of [r.method].flat()) routes.push({ method: String(method), url: r.url, access });
      });
      const oci = new OciTokens(runtime.authenticator, config.registryView);
      warnWhenOpen(runtime.authenticator, logger);
      installAuth(fastify, runtime.authenticator, runtime.limiter, logger, oci, runtime.sockets);
      installHeavyGate(fastify, config.server.heavyAnswers, runtime.metrics.registry);
      installResponseCap(fastify, config.graphql.maxResponseBytes, logger);
      installRequestMetrics(fastify, runtime.metrics.registry);
      firstRunRoutes(fastify);
      app = await NestFactory.create<NestFastifyApplication>(AppModule.forRuntime(runtime), adapter, {
        logger: new JsonLogger(logger),
        bufferLogs: false,
      });
      app.useGlobalFilters(new AllErrorsFilter(logger));
      const receiver = new WebhookReceiver(runtime.catalog, runtime.inbox, runtime.metrics, runtime.lines);
      await app.register(webhookRoutes(receiver, config.server.bodyLimitBytes, logger));
      const view = createRegistryView(runtime);
      await app.register(oci.routes(view.countToken));
      await app.register(referrersRoutes(runtime.referrers, runtime.catalog, view));
      await app.init();
    } else {
      workerListener = await createWorkerListener(runtime, routes);
    }
    if (role !== 'api' && config.worker.enabled) {
      worker = await startQueueWorker({
        pool: runtime.jobDb.pool,
        concurrency: config.worker.concurrency,
        pollInterval: config.worker.pollIntervalMs,
        log: new JsonLogger(logger),
        health: runtime.workerHealth,
        tasks: {
          [INGEST_TASK]: deferWhenBusy(async (payload, helpers) => {
            const { eventId } = payload as { eventId: number };
            await runtime.processor.process(eventId, helpers.job.attempts, helpers.job.max_attempts);
          }),
          [SYNC_TASK]: syncTask({
            sync: runtime.sync,
            queue: runtime.syncs,
            reconcileIntervalSeconds: config.sync.reconcileIntervalSeconds,
            log: new JsonLogger(logger),
          }),
          [VERIFY_TASK]: deferWhenBusy(verifyTask(runtime.verifier)),
        },
      });
      // Subscribed before the start-up pass, so a refresh landing in between is not missed.
      trustChanges = new StaleVerificationRequeuer(runtime.trust, () => runtime.currentTrust.version, logger);
      const requeuer = trustChanges;
      stopListening = runtime.currentTrust.onChange(() => void requeuer.request());
      const stale = await requeueStaleVerifications(runtime.trust, runtime.verifier.policyVersion);
      if (stale > 0) logger.info({ stale }, 'trust policy changed: re-verifying stored results');
      const names = runtime.catalog.all().map((e) => e.config.name);
      await schedulePeriodicReconcile(runtime.syncs, names, config.sync.reconcileIntervalSeconds);
    }
  } catch (err) {
    stopListening?.();
    await runtime.trustRefresher?.stop();
    await trustChanges?.close();
    await app?.close().catch(() => undefined);
    await workerListener?.close().catch(() => undefined);
    await runtime.replicas?.close();
    await runtime.primaryReads.close();
    await runtime.jobDb.close().catch(() => undefined);
    await runtime.db.close().catch(() => undefined);
    throw err;
  }

  return {
    runtime,
    app,
    workerListener,
    worker,
    routes,
    trustChanges,
    async listen() {
      if (workerListener) {
        await workerListener.listen({ port: config.worker.port, host: config.worker.host });
        const addr = workerListener.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : config.worker.port;
        return `http://127.0.0.1:${port}`;
      }
      if (!app) return '';
      await app.listen({ port: config.server.port, host: config.server.host });
      const addr = app.getHttpServer().address();
      const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
      return `${config.server.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    },
    async close() {
      stopListening?.();
      await runtime.trustRefresher?.stop();
      await trustChanges?.close();
      const drainMs = config.server.drainSeconds * 1000;
      if (app) await closeWithin(app.getHttpAdapter().getInstance(), () => app.close(), drainMs);
      // Closed after the drain: /readyz says "stopping" while jobs finish.
      await worker?.stop();
      if (workerListener) await closeWithin(workerListener, () => workerListener.close(), drainMs);
      runtime.lines.flush();
      await runtime.replicas?.close();
      await runtime.primaryReads.close();
      await runtime.jobDb.close();
      await runtime.db.close();
    },
  };
}
