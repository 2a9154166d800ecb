import type { Command } from 'commander';
import { EXIT, oneLine } from '../exit.js';
import { processIo, ServiceClient, ServiceError, type CliIo } from '../http.js';

interface Verdict {
  policy: string;
  allowed: boolean;
  subjects: Array<{ reference: string; subject: string; allowed: boolean; reasons: string[] }>;
}

/** `refgraph verdict <reference> --policy <name>`: allowed exits 0, denied exits 1. */
export async function runVerdict(
  reference: string,
  opts: { policy: string; json?: boolean; url?: string },
  io: CliIo,
): Promise<number> {
  const client = new ServiceClient(io.env, opts.url);
  try {
    const v = await client.post<Verdict>('/api/v1/verdict', { policy: opts.policy, subjects: [reference] });
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    } else {
      for (const s of v.subjects) {
        io.stdout.write(
          `${s.allowed ? 'allowed' : 'denied'} ${s.reference} (${s.subject}) by policy ${v.policy}\n`,
        );
        for (const r of s.reasons) io.stdout.write(`  - ${r}\n`);
      }
    }
    return v.allowed ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof ServiceError) {
      io.stderr.write(`${oneLine(err.message)}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

export function registerVerdict(program: Command): void {
  program
    .command('verdict')
    .description('evaluate a configured admission policy for an image; exits 1 when denied')
    .argument('<reference>', '<registry-name>/<repository>[:tag|@digest], or a digest')
    .requiredOption('--policy <name>', 'a policy name from the service configuration')
    .option('--json', 'print the whole verdict as JSON')
    .option('--url <url>', 'refgraph base URL (default $REFGRAPH_URL or http://127.0.0.1:8080)')
    .action(async (reference: string, opts: { policy: string; json?: boolean; url?: string }) => {
      process.exitCode = await runVerdict(reference, opts, processIo());
    });
}
