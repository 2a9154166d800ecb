// A Postgres crash that takes exactly the commits whose WAL was not yet written: the server's WAL
// writer is frozen (SIGSTOP), so commits made without waiting for their flush
// (synchronous_commit=off) stay in shared memory, and a crash then loses them deterministically
// instead of by the luck of the writer's 200 ms cycle. Commits that wait for their flush write
// the WAL themselves and survive. For a server of the test's own, never a shared one.
import pg from 'pg';

export interface HeldWalWriter {
  /**
   * Kills the frozen WAL writer (SIGKILL, which ends a stopped process too). The postmaster takes
   * a child's death as a crash: it ends every backend, reinitialises shared memory (the unwritten
   * WAL with it) and recovers from the WAL on disk. Resolves once the server answers again.
   */
  crash(): Promise<void>;
}

/** Freezes the WAL writer of the server `url` connects to (the caller's own server). */
export async function holdWalWriter(url: string): Promise<HeldWalWriter> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  let pid: number;
  try {
    const { rows } = await c.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'`,
    );
    if (rows.length !== 1) throw new Error(`expected one walwriter, found ${rows.length}`);
    pid = rows[0]!.pid;
  } finally {
    await c.end();
  }
  process.kill(pid, 'SIGSTOP');
  return {
    async crash() {
      process.kill(pid, 'SIGKILL');
      await untilAnswersAgain(url, pid);
    },
  };
}

/** Resolves once a new WAL writer runs (the server recovered and accepts connections). */
async function untilAnswersAgain(url: string, killed: number): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 600; i++) {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const { rows } = await c.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'`,
      );
      if (rows.length === 1 && rows[0]!.pid !== killed) return;
    } catch (err) {
      last = err;
    } finally {
      await c.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Postgres did not recover from the crash: ${String(last)}`);
}
