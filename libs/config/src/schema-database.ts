// The database section of the configuration: read replicas and the time bounds of reads.
import { z } from 'zod';

// Read replicas (README "Read replicas"): the api role's read model reads from these.
/** Streaming replicas of DATABASE_URL; DATABASE_READ_URLS (comma-separated) replaces `urls`. */
const readReplicas = z
  .object({
    /** postgres:// URLs of standbys of the primary. */
    urls: z.array(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')).default([]),
    /** A replica further behind than this is out of rotation until it catches up. */
    maxLagSeconds: z.number().min(0).default(10),
    /** How often each replica's lag is measured. */
    checkIntervalMs: z.number().int().min(100).max(600_000).default(2000),
  })
  .strict();

const defaultReadReplicas = () => ({ urls: [] as string[], maxLagSeconds: 10, checkIntervalMs: 2000 });

/**
 * Time bounds of every read-model statement (README "Read timeouts"), on the primary and on each
 * replica. Postgres cancels a statement past statementTimeoutMs (statement_timeout); a server
 * that stops answering altogether (a frozen host cannot enforce its own timeout) is given up on
 * after answerTimeoutMs, for connecting and for each statement.
 */
const reads = z
  .object({
    statementTimeoutMs: z.number().int().min(1).max(600_000).default(2000),
    answerTimeoutMs: z.number().int().min(1).max(600_000).default(2500),
  })
  .strict()
  // The server's own cancel comes first and keeps the connection; the client bound is the backstop.
  .refine((r) => r.answerTimeoutMs >= r.statementTimeoutMs, {
    message: 'answerTimeoutMs must be at least statementTimeoutMs',
    path: ['answerTimeoutMs'],
  });

const defaultReads = () => ({ statementTimeoutMs: 2000, answerTimeoutMs: 2500 });

/** `database`: where the api role reads, and how long a read may take. */
export const database = z
  .object({ readReplicas: readReplicas.default(defaultReadReplicas), reads: reads.default(defaultReads) })
  .strict()
  .default(() => ({ readReplicas: defaultReadReplicas(), reads: defaultReads() }));
