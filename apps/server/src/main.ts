import { loadConfig, ConfigError } from '#config';
import { embeddedDataDir, runningPostgres, startEmbeddedPostgres, type EmbeddedDatabase } from '#store';
import { createApp, type Role } from './app.js';
import { startupLines } from './first-run.js';
import { createLogger } from './logger.js';
import { withoutSignalHooks } from './signals.js';

/** SIGTERM/SIGINT end the process within this long, drained or not (Kubernetes allows 30 s). */
const SHUTDOWN_DEADLINE_MS = 20_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`refgraph: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.server.logLevel);
  const role = (process.env.REFGRAPH_ROLE ?? 'all') as Role;
  if (!['all', 'api', 'worker'].includes(role)) {
    process.stderr.write(`refgraph: REFGRAPH_ROLE must be all, api or worker, not "${role}"\n`);
    process.exit(2);
  }

  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const dataDir = embeddedDataDir();
    const held = runningPostgres(dataDir);
    if (held) {
      process.stderr.write(
        `refgraph: the embedded Postgres in ${dataDir} is already running (pid ${held.pid}, port ${held.port}): ` +
          'is refgraph (or `refgraph sync`) already running? Stop it, or set REFGRAPH_DATA_DIR or DATABASE_URL\n',
      );
      process.exit(2);
    }
    logger.info({ dataDir }, 'DATABASE_URL not set: starting embedded Postgres (REFGRAPH_DATA_DIR)');
    embedded = await withoutSignalHooks(() => startEmbeddedPostgres(dataDir));
    databaseUrl = embedded.url;
  }

  const running = await createApp({ config, databaseUrl, logger, role });
  const url = await running.listen();
  logger.info(
    { url, role },
    role === 'worker'
      ? `refgraph started at ${url} (worker: /healthz, /readyz and /metrics only)`
      : `refgraph started at ${url}`,
  );
  if (role !== 'worker') {
    const lines = startupLines(
      url,
      config,
      !running.runtime.authenticator.enabled,
      process.env.REFGRAPH_CONFIG,
    );
    for (const l of lines) logger[l.level](l.fields, l.msg);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // The worker drains for at most its own deadline; this bounds everything else (HTTP, pools).
    setTimeout(() => {
      logger.error({ signal, deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    await running.close().catch((err: unknown) => logger.error({ err }, 'error during shutdown'));
    await embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`refgraph: failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
