import type { Command } from 'commander';
import { EXIT, type Done } from '../exit.js';
import { outputMode, outputOptions, shortDigest, type OutputOptions } from '../format.js';
import { serviceFailure, ServiceClient, type CliIo, type ServiceTarget } from '../http.js';

interface Verdict {
  policy: string;
  allowed: boolean;
  subjects: Array<{
    reference: string;
    subject: string | null;
    allowed: boolean;
    reasons: string[];
    /** One code per reason, in the same order (`no_signature`, `unknown_tag`, ...). */
    codes: string[];
  }>;
}

export interface VerdictOptions extends ServiceTarget, OutputOptions {
  policy: string;
}

/** `refgraph verdict <reference> --policy <name>`: allowed exits 0, denied exits 1. */
export async function runVerdict(reference: string, opts: VerdictOptions, io: CliIo): Promise<number> {
  const mode = outputMode(opts);
  const client = new ServiceClient(io.env, opts);
  try {
    const v = await client.post<Verdict>('/api/v1/verdict', { policy: opts.policy, subjects: [reference] });
    if (mode === 'json') {
      io.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    } else {
      for (const s of v.subjects) {
        const subject = s.subject ? ` (${shortDigest(s.subject, mode === 'wide')})` : '';
        io.stdout.write(
          `${s.allowed ? 'allowed' : 'denied'} ${s.reference}${subject} by policy ${v.policy}\n`,
        );
        s.reasons.forEach((r, i) => {
          const code = s.codes[i];
          io.stdout.write(`  - ${code ? `${code}: ` : ''}${r}\n`);
        });
        // Codes without a reason of their own (never expected; printed rather than dropped).
        for (const code of s.codes.slice(s.reasons.length)) io.stdout.write(`  - ${code}\n`);
      }
    }
    return v.allowed ? EXIT.ok : EXIT.denied;
  } catch (err) {
    return serviceFailure(io, err);
  }
}

export function registerVerdict(program: Command, io: CliIo, done: Done): void {
  const cmd = program
    .command('verdict')
    .description('evaluate a configured admission policy for an image; exits 1 when denied')
    .argument('<reference>', '<registry-name>/<repository>[:tag|@digest], or a digest')
    .requiredOption('--policy <name>', 'a policy name from the service configuration');
  outputOptions(cmd, 'the whole verdict').action(async (reference: string, _opts: unknown, c: Command) => {
    done(await runVerdict(reference, c.optsWithGlobals<VerdictOptions>(), io));
  });
}
