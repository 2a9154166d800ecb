import type { Command } from 'commander';
import type { Done } from '../exit.js';
import { outputOptions, type OutputOptions } from '../format.js';

export interface SyncCliOptions extends OutputOptions {
  repository: string[];
  reconcile?: boolean;
}

/** Where the command writes and what it reads; the real process by default, captured in tests. */
export interface SyncIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  signal?: AbortSignal;
}

/**
 * `refgraph sync <registry-name> [--repository NAME ...] [--reconcile]`: the same walk the
 * service's sync job does, run in this process against the service's database (DATABASE_URL, or
 * the embedded one) and config file. Progress on stderr, summary on stdout; exit 2 when anything
 * went wrong.
 */
export function registerSync(program: Command, io: Omit<SyncIo, 'signal'>, done: Done): void {
  const cmd = program
    .command('sync')
    .description(
      'build the graph of a configured registry from what it holds (backfill); resumes an interrupted run',
    )
    .argument('<registry-name>', 'a registry name from the config file')
    .option(
      '--repository <name>',
      'only this repository (repeatable)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--reconcile', 'also delete what the registry no longer has');
  outputOptions(cmd, 'the summary', ['text', 'json']).action(async (name: string, opts: SyncCliOptions) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort(new Error('interrupted by signal'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      done(await syncCommand(name, opts, { ...io, signal: stop.signal }));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

/**
 * Runs the command. What it needs (the config file, the database, the registry client, the walk)
 * is loaded here, so that no other command loads it, and the sync loads nothing the others need.
 */
export async function syncCommand(name: string, opts: SyncCliOptions, io: SyncIo): Promise<number> {
  const { runSync } = await import('./sync-run.js');
  return runSync(name, opts, io);
}
