import type { Command } from 'commander';
import { EXIT, type Done } from '../exit.js';
import { fit, outputMode, outputOptions, shortDigest, type OutputOptions } from '../format.js';
import { resolveDigest, serviceFailure, ServiceClient, type CliIo, type ServiceTarget } from '../http.js';

interface SignatureRow {
  artifactDigest: string;
  kind: string;
  repository: string;
  format: string;
  status: string;
  reason: string | null;
  message: string | null;
  identity: string | null;
  issuer: string | null;
  keyId: string | null;
  authority: string | null;
}

interface AttestationRow {
  artifactDigest: string;
  predicateType: string;
  builderId: string | null;
  parseError: string | null;
  /** The verification of the envelope that carries the statement. */
  verification: SignatureRow[];
}

export interface VerifyOptions extends ServiceTarget, OutputOptions {}

/** Who signed (verified) or why not, in one phrase. */
function outcome(s: SignatureRow): string {
  if (s.status === 'verified') {
    const who = s.identity ? `${s.identity} (${s.issuer ?? '?'})` : `key ${s.keyId ?? '?'}`;
    return `${s.authority ?? '?'}: ${who}`;
  }
  return [s.reason, s.message].filter(Boolean).join(': ') || s.status;
}

/**
 * `refgraph verify <reference|digest>`: the verification results a running refgraph stored for an
 * image, signatures over it and attestations about it in their own sections. Exit 0 when at least
 * one signature is verified by a trusted authority, else 1.
 */
export async function runVerify(reference: string, opts: VerifyOptions, io: CliIo): Promise<number> {
  const mode = outputMode(opts);
  const client = new ServiceClient(io.env, opts);
  const wide = mode === 'wide';
  const line = (s: string) => `${wide ? s : fit(s)}\n`;
  try {
    const digest = await resolveDigest(client, reference);
    const [{ signatures }, { attestations }] = await Promise.all([
      client.get<{ signatures: SignatureRow[] }>(`/api/v1/artifacts/${digest}/signatures`),
      client.get<{ attestations: AttestationRow[] }>(`/api/v1/artifacts/${digest}/attestations`),
    ]);
    const verified = signatures.filter((s) => s.status === 'verified');
    if (mode === 'json') {
      const answer = { reference, digest, verified: verified.length > 0, signatures, attestations };
      io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
    } else {
      io.stdout.write(line(`${reference}  ${shortDigest(digest, wide)}`));
      io.stdout.write(`Signatures (${verified.length} verified of ${signatures.length})\n`);
      if (signatures.length === 0) io.stdout.write('  none\n');
      for (const s of signatures) {
        io.stdout.write(
          line(
            `  ${s.status.padEnd(12)} ${s.format.padEnd(16)} ${shortDigest(s.artifactDigest, wide)}  ` +
              `${outcome(s)}  [${s.repository}]`,
          ),
        );
      }
      io.stdout.write(`Attestations (${attestations.length})\n`);
      if (attestations.length === 0) io.stdout.write('  none\n');
      for (const a of attestations) {
        const builder = a.builderId ? `  builder ${a.builderId}` : '';
        const broken = a.parseError ? `  unreadable: ${a.parseError}` : '';
        io.stdout.write(
          line(`  ${a.predicateType}  ${shortDigest(a.artifactDigest, wide)}${builder}${broken}`),
        );
        if (a.verification.length === 0) io.stdout.write('    unsigned\n');
        for (const v of a.verification)
          io.stdout.write(line(`    ${v.status.padEnd(12)} ${outcome(v)}  [${v.repository}]`));
      }
    }
    if (verified.length === 0) io.stderr.write(`no trusted signature on ${reference}\n`);
    return verified.length > 0 ? EXIT.ok : EXIT.denied;
  } catch (err) {
    return serviceFailure(io, err, reference);
  }
}

export function registerVerify(program: Command, io: CliIo, done: Done): void {
  const cmd = program
    .command('verify')
    .description('show stored verification results for an image; exits 1 without a trusted signature')
    .argument('<reference>', '<registry-name>/<repository>[:tag|@digest], or a digest');
  outputOptions(cmd, 'signatures and attestations with every field').action(
    async (reference: string, _opts: unknown, c: Command) => {
      done(await runVerify(reference, c.optsWithGlobals<VerifyOptions>(), io));
    },
  );
}
