import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { ArtifactInput, TrustRootSource, VerificationPolicy, VerificationResult } from '#verify';
import { EXIT, UsageError, oneLine, type Done } from '../exit.js';
import { outputMode, outputOptions, type OutputOptions } from '../format.js';
import type { CliIo } from '../http.js';

interface VerifyBundleOptions extends OutputOptions {
  bundle: string;
  certificateIdentity?: string;
  certificateOidcIssuer?: string;
  key?: string;
  trustedRoot?: string;
  staging?: boolean;
}

/**
 * `verify-bundle`, argument for argument the sigstore-conformance CLI protocol:
 *   verify-bundle [--staging] --bundle FILE
 *     (--certificate-identity ID --certificate-oidc-issuer URL | --key PEMFILE)
 *     [--trusted-root FILE] FILE_OR_DIGEST
 * Exit 0 only when verified, with one line `OK: …` on stdout (nothing on stderr, as the
 * protocol wants); otherwise exit 1 and one line `<reason>: <message>` on stderr.
 */
export function registerVerifyBundle(program: Command, io: CliIo, done: Done): void {
  const cmd = program
    .command('verify-bundle')
    .description('verify a Sigstore bundle for a file or a sha256 digest, offline')
    .requiredOption('--bundle <file>', 'Sigstore bundle (JSON)')
    .option('--certificate-identity <id>', 'exact certificate identity (SAN) the signer must have')
    .option('--certificate-oidc-issuer <url>', 'exact OIDC issuer the signer must have')
    .addOption(
      new Option('--key <pemfile>', 'public key (PEM) the bundle must be signed with').conflicts([
        'certificateIdentity',
        'certificateOidcIssuer',
      ]),
    )
    .option('--trusted-root <file>', 'trusted_root.json to use instead of the public-good root')
    .option('--staging', 'use the Sigstore staging trusted root')
    .argument('<file-or-digest>', 'artifact path, or sha256:<64 hex>');
  outputOptions(cmd, 'the full verification result, on stdout', ['text', 'json']).action(
    async (fileOrDigest: string, opts: VerifyBundleOptions) => {
      const json = outputMode(opts, ['text', 'json']) === 'json';
      const result = await verifyBundleCommand(fileOrDigest, opts);
      if (json) io.stdout.write(`${JSON.stringify(result)}\n`);
      if (result.status !== 'verified') {
        io.stderr.write(`${result.reason}: ${oneLine(result.message)}\n`);
        done(EXIT.denied);
      } else {
        if (!json) io.stdout.write(`${okLine(fileOrDigest, result)}\n`);
        done(EXIT.ok);
      }
    },
  );
}

/** `OK: <artifact> signed by <who>`: what was checked, and against whom. */
export function okLine(fileOrDigest: string, r: VerificationResult): string {
  const who = r.identity
    ? `${r.identity} (issuer ${r.issuer ?? '?'})`
    : r.keyId
      ? `key ${r.keyId}`
      : 'the given key';
  const log = r.tlogIndex !== undefined ? `, transparency log entry ${r.tlogIndex}` : '';
  return `OK: ${fileOrDigest} signed by ${who}${log}`;
}

async function verifyBundleCommand(
  fileOrDigest: string,
  opts: VerifyBundleOptions,
): Promise<VerificationResult> {
  // Sigstore and TUF are loaded for this command only, not for every command the CLI has.
  const { BundleVerifier, VerificationFailure, isSha256Digest, loadTrustRoot } = await import('#verify');
  const policy = await policyFrom(opts);
  const artifact = await artifactFrom(fileOrDigest, isSha256Digest);
  const bundle = await readInput(opts.bundle, 'bundle');
  try {
    const trustRoot = await loadTrustRoot(trustSource(opts));
    return new BundleVerifier(trustRoot).verify({ bundle, artifact, policy });
  } catch (err) {
    if (!(err instanceof VerificationFailure)) throw err;
    return { status: 'failed', reason: err.reason, message: err.message };
  }
}

async function policyFrom(opts: VerifyBundleOptions): Promise<VerificationPolicy | undefined> {
  if (opts.key !== undefined) return { publicKey: (await readInput(opts.key, 'key')).toString('utf8') };
  if (opts.certificateIdentity === undefined && opts.certificateOidcIssuer === undefined) return undefined;
  if (opts.certificateIdentity === undefined || opts.certificateOidcIssuer === undefined) {
    throw new UsageError('--certificate-identity and --certificate-oidc-issuer are required together');
  }
  return { certificateIdentity: opts.certificateIdentity, certificateIssuer: opts.certificateOidcIssuer };
}

async function artifactFrom(
  fileOrDigest: string,
  isSha256Digest: (s: string) => boolean,
): Promise<ArtifactInput> {
  if (isSha256Digest(fileOrDigest)) return { digest: fileOrDigest };
  if (/^sha256:/i.test(fileOrDigest) && !fileOrDigest.includes('/')) {
    throw new UsageError(`${fileOrDigest} is neither a file nor a sha256:<64 lowercase hex> digest`);
  }
  return { bytes: await readInput(fileOrDigest, 'artifact') };
}

function trustSource(opts: VerifyBundleOptions): TrustRootSource {
  if (opts.trustedRoot !== undefined) return { kind: 'file', path: opts.trustedRoot };
  return opts.staging ? { kind: 'staging' } : { kind: 'public-good' };
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
