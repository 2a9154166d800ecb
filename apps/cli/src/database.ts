import { embeddedDataDir, runningPostgres, startEmbeddedPostgres } from '#store';
import { UsageError } from './exit.js';

/** The service's database for a command that writes to it, and how to let go of it. */
export interface ServiceDatabase {
  url: string;
  /** Says which database this is, for stderr. */
  note: string;
  release(): Promise<void>;
}

/**
 * DATABASE_URL when set; otherwise the embedded Postgres `npm start` uses (REFGRAPH_DATA_DIR).
 * When a running refgraph already holds that data directory, its server is used as it is: a
 * second server on the same directory is what Postgres' lock file exists to prevent. Otherwise
 * the server is started for the command and stopped afterwards.
 */
export async function openServiceDatabase(
  databaseUrl: string | undefined,
  env: Record<string, string | undefined>,
): Promise<ServiceDatabase> {
  if (databaseUrl) return { url: databaseUrl, note: 'DATABASE_URL', release: () => Promise.resolve() };
  const dir = embeddedDataDir(env);
  const held = runningPostgres(dir);
  if (held) {
    return {
      url: held.url,
      note:
        `the embedded Postgres in ${dir} is held by a running refgraph (Postgres pid ${held.pid}, ` +
        `port ${held.port}): writing through it`,
      release: () => Promise.resolve(),
    };
  }
  try {
    const db = await startEmbeddedPostgres(dir);
    return {
      url: db.url,
      note: `DATABASE_URL not set: using the embedded Postgres in ${dir} (REFGRAPH_DATA_DIR)`,
      release: () => db.stop(),
    };
  } catch (err) {
    throw new UsageError(
      `${err instanceof Error ? err.message : String(err)}; set DATABASE_URL, or REFGRAPH_DATA_DIR to another directory`,
    );
  }
}
