import type { Command } from 'commander';
import { EXIT, oneLine } from '../exit.js';
import { processIo, ServiceClient, ServiceError, type CliIo } from '../http.js';

interface SignatureRow {
  artifactDigest: string;
  format: string;
  status: string;
  reason: string | null;
  message: string | null;
  identity: string | null;
  issuer: string | null;
  keyId: string | null;
  authority: string | null;
}

/**
 * `refgraph verify <reference|digest>`: the verification results a running refgraph stored for
 * an image. Exit 0 when at least one signature is verified by a trusted authority, else 1.
 */
export async function runVerify(
  reference: string,
  opts: { json?: boolean; url?: string },
  io: CliIo,
): Promise<number> {
  const client = new ServiceClient(io.env, opts.url);
  try {
    const { digest } = await client.get<{ digest: string }>(
      `/api/v1/resolve?reference=${encodeURIComponent(reference)}`,
    );
    const { signatures } = await client.get<{ signatures: SignatureRow[] }>(
      `/api/v1/artifacts/${digest}/signatures`,
    );
    const verified = signatures.filter((s) => s.status === 'verified');
    if (opts.json) {
      io.stdout.write(
        `${JSON.stringify({ reference, digest, verified: verified.length > 0, signatures }, null, 2)}\n`,
      );
    } else {
      io.stdout.write(`${reference} ${digest}\n`);
      if (signatures.length === 0) io.stdout.write('  no signatures\n');
      for (const s of signatures) {
        const who = s.identity ? `${s.identity} (${s.issuer ?? '?'})` : (s.keyId ?? '-');
        const why =
          s.status === 'verified'
            ? `authority ${s.authority}`
            : `${s.reason ?? ''} ${s.message ?? ''}`.trim();
        io.stdout.write(
          `  ${s.status.padEnd(12)} ${s.format.padEnd(18)} ${who} ${s.artifactDigest} ${why}\n`,
        );
      }
    }
    if (verified.length === 0) io.stderr.write(`no trusted signature on ${reference}\n`);
    return verified.length > 0 ? EXIT.ok : EXIT.failed;
  } catch (err) {
    if (err instanceof ServiceError) {
      io.stderr.write(`${oneLine(err.message)}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('show stored verification results for an image; exits 1 without a trusted signature')
    .argument('<reference>', '<registry-name>/<repository>[:tag|@digest], or a digest')
    .option('--json', 'print the results as JSON')
    .option('--url <url>', 'refgraph base URL (default $REFGRAPH_URL or http://127.0.0.1:8080)')
    .action(async (reference: string, opts: { json?: boolean; url?: string }) => {
      process.exitCode = await runVerify(reference, opts, processIo());
    });
}
