import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * sigstore-conformance `bundle-verify` cases, read in place, run through the built CLI exactly as
 * the conformance harness calls a client: once with the artifact path, once with its digest.
 * Inputs per case (see CASES.md / SOURCES.md beside the cases):
 * - expected outcome: the directory name ends in `_fail` or not;
 * - artifact: `<case>/artifact`, else `a.txt`; trusted root: `<case>/trusted_root.json`, else the
 *   public-good production root (the CLI's default, loaded offline from the installed packages);
 * - `<case>/key.pub` -> `--key`, else `--certificate-identity`/`--certificate-oidc-issuer` from
 *   `<case>/identity` and `<case>/issuer` or the defaults below.
 */

const CORPUS = process.env.REFGRAPH_CORPUS ?? path.resolve(process.cwd(), '../shared/corpus');
const CASES_DIR = path.join(CORPUS, 'sigstore-conformance', 'bundle-verify');
const CLI = path.resolve(process.cwd(), 'bin/refgraph.js');
const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * The reason each must-fail case has to fail with, read from its README. Where a README names two
 * faults, the first one the verifier meets is the one expected (order: bundle shape, policy vs
 * material, artifact binding, timestamps, certificate at signed time, SCT, log inclusion, log
 * body, signature, identity).
 */
const EXPECTED_FAILURE: Record<string, string> = {
  'bundle-empty-certificate-chain_fail': 'bundle_malformed',
  'bundle-from-wrong-instance_fail': 'certificate_untrusted', // staging Fulcio vs production root
  'bundle-invalid-base64-signature_fail': 'bundle_malformed',
  'bundle-malformed-json_fail': 'bundle_malformed',
  'bundle-negative-log-index_fail': 'tlog_invalid', // the signed entry timestamp covers the index
  'bundle-unknown-version_fail': 'bundle_malformed',
  'bundle-with-root-cert_fail': 'certificate_untrusted',
  'checkpoint-bad-keyhint_fail': 'tlog_invalid',
  'checkpoint-wrong-roothash_fail': 'tlog_invalid',
  'dsse-invalid-sig_fail': 'signature_invalid',
  'dsse-mismatch-envelope_fail': 'tlog_invalid',
  'dsse-mismatch-sig_fail': 'tlog_invalid', // valid signature, but not the logged one
  'inclusion-proof-corrupted-hash_fail': 'tlog_invalid',
  'incorrect-public-key_fail': 'tlog_invalid',
  'integrated-time-in-future_fail': 'certificate_time_invalid',
  'intoto-expired-certificate_fail': 'certificate_time_invalid', // leaf valid from 2030, logged in 2023
  'intoto-log-entry-mismatch_fail': 'tlog_invalid',
  'intoto-missing-inclusion-proof_fail': 'tlog_invalid',
  'intoto-set-outside-signing-cert-validity_fail': 'certificate_time_invalid',
  'intoto-tsa-timestamp-outside-cert-validity_fail': 'certificate_time_invalid',
  'invalid-checkpoint-signature_fail': 'tlog_invalid',
  'invalid-ct-key_fail': 'certificate_untrusted', // SCT does not verify with the root's CT keys
  'invalid-inclusion-proof_fail': 'tlog_invalid',
  'managed-key-no-key_fail': 'identity_mismatch', // key-signed bundle, identity policy
  'managed-key-wrong-key_fail': 'policy_invalid', // its key.pub is corrupted and does not parse
  'message-digest-mismatch_fail': 'artifact_mismatch',
  'rekor2-checkpoint-missing-log-signature_fail': 'tlog_invalid',
  'rekor2-checkpoint-missing-origin_fail': 'tlog_invalid',
  'rekor2-checkpoint-missing-root-hash_fail': 'tlog_invalid',
  'rekor2-checkpoint-missing-size_fail': 'tlog_invalid',
  'rekor2-checkpoint-no-matching-signature_fail': 'tlog_invalid',
  'rekor2-dsse-invalid-sig_fail': 'signature_invalid',
  'rekor2-dsse-mismatch-envelope_fail': 'tlog_invalid',
  'rekor2-dsse-mismatch-sig_fail': 'tlog_invalid',
  'rekor2-no-inclusion-proof_fail': 'tlog_invalid',
  'rekor2-no-timestamp_fail': 'timestamp_invalid',
  'rekor2-timestamp-outside-trust-root-tsa-validity_fail': 'timestamp_invalid',
  'rekor2-timestamp-outside-tsa-cert-validity_fail': 'timestamp_invalid',
  'rekor2-timestamp-payload-mismatch_fail': 'timestamp_invalid',
  'rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail': 'timestamp_invalid',
  'rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail': 'timestamp_invalid',
  'rekor2-timestamp-with-incorrect-time_fail': 'certificate_time_invalid',
  'set-invalid-signature_fail': 'tlog_invalid',
  'signature-mismatch_fail': 'signature_invalid',
  'trust-root-tlog-missing-validity-start_fail': 'trust_root_invalid',
  'wrong-hashedrekord-artifact_fail': 'tlog_invalid', // bundle is fine; the logged entry is for another artifact
  'wrong-hashedrekord-cert-and-sig_fail': 'tlog_invalid',
  'wrong-hashedrekord-entry_fail': 'tlog_invalid',
  'wrong-material_fail': 'artifact_mismatch',
};

/**
 * Cases that need the network (none: every trusted root is a file or ships with refgraph, and no
 * case asks for online log lookups). A case listed here is reported, not silently skipped.
 */
const NOT_RUNNABLE_OFFLINE: Record<string, string> = {};

type Mode = 'file' | 'digest';
interface Outcome {
  code: number | null;
  stderr: string;
  reason: string | undefined;
}

function listCases(): string[] {
  return readdirSync(CASES_DIR)
    .filter((d) => statSync(path.join(CASES_DIR, d)).isDirectory())
    .sort();
}

function caseArgs(name: string, mode: Mode): string[] {
  const dir = path.join(CASES_DIR, name);
  const at = (f: string): string | undefined =>
    existsSync(path.join(dir, f)) ? path.join(dir, f) : undefined;
  const read = (f: string): string | undefined => {
    const p = at(f);
    return p ? readFileSync(p, 'utf8').trim() : undefined;
  };
  const artifact = at('artifact') ?? path.join(CASES_DIR, 'a.txt');
  const key = at('key.pub');
  const root = at('trusted_root.json');
  return [
    'verify-bundle',
    '--bundle',
    path.join(dir, 'bundle.sigstore.json'),
    ...(key
      ? ['--key', key]
      : [
          '--certificate-identity',
          read('identity') ?? DEFAULT_IDENTITY,
          '--certificate-oidc-issuer',
          read('issuer') ?? DEFAULT_ISSUER,
        ]),
    ...(root ? ['--trusted-root', root] : []),
    mode === 'file'
      ? artifact
      : `sha256:${createHash('sha256').update(readFileSync(artifact)).digest('hex')}`,
  ];
}

function runCli(args: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, reason: /^([a-z_]+):/.exec(stderr)?.[1] }));
  });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** dist must exist and be newer than the sources it is built from (`npm run build`). */
function assertBuilt(): void {
  const newest = (dir: string, ext: string, skip: RegExp): number =>
    readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith(ext) && !skip.test(f))
      .reduce((m, f) => Math.max(m, statSync(path.join(dir, f)).mtimeMs), 0);
  const src = Math.max(
    newest('libs/verify/src', '.ts', /\.spec\.ts$/),
    newest('apps/cli/src', '.ts', /\.spec\.ts$/),
  );
  const outDirs = ['dist/libs/verify/src', 'dist/apps/cli/src'];
  if (
    !existsSync(CLI) ||
    outDirs.some((d) => !existsSync(d)) ||
    Math.min(...outDirs.map((d) => newest(d, '.js', /^$/))) < src
  ) {
    throw new Error('the CLI build in dist/ is missing or older than its sources: run `npm run build` first');
  }
}

const cases = existsSync(CASES_DIR) ? listCases() : [];
const runnable = cases.filter((c) => !(c in NOT_RUNNABLE_OFFLINE));
const results = new Map<string, Outcome>();

describe('sigstore-conformance bundle-verify through `refgraph verify-bundle`', () => {
  beforeAll(async () => {
    if (!existsSync(CASES_DIR))
      throw new Error(`conformance cases not found at ${CASES_DIR} (set REFGRAPH_CORPUS)`);
    assertBuilt();
    const runs = runnable.flatMap((c) => (['file', 'digest'] as const).map((mode) => ({ c, mode })));
    const outcomes = await mapLimit(runs, 4, ({ c, mode }) => runCli(caseArgs(c, mode)));
    runs.forEach(({ c, mode }, i) => results.set(`${c} ${mode}`, outcomes[i] as Outcome));
  }, 600_000);

  it('knows all 70 cases, 21 must-pass and 49 must-fail, and a reason for each must-fail case', () => {
    expect(cases).toHaveLength(70);
    const mustFail = cases.filter((c) => c.endsWith('_fail'));
    expect(mustFail).toHaveLength(49);
    expect(Object.keys(EXPECTED_FAILURE).sort()).toEqual(mustFail);
  });

  it('runs every case offline; the ones that cannot are exactly the listed ones', () => {
    expect(cases.filter((c) => !runnable.includes(c))).toEqual(Object.keys(NOT_RUNNABLE_OFFLINE).sort());
    expect(runnable).toHaveLength(70);
  });

  describe.each(['file', 'digest'] as const)('by %s', (mode) => {
    it.each(cases.filter((c) => !c.endsWith('_fail')))('%s verifies', (c) => {
      const r = results.get(`${c} ${mode}`);
      expect({ case: c, code: r?.code, stderr: r?.stderr }).toEqual({ case: c, code: 0, stderr: '' });
    });

    it.each(cases.filter((c) => c.endsWith('_fail')))('%s fails for the right reason', (c) => {
      const r = results.get(`${c} ${mode}`);
      expect({ case: c, failed: r?.code === 1, reason: r?.reason }).toEqual({
        case: c,
        failed: true,
        reason: EXPECTED_FAILURE[c],
      });
      expect(r?.stderr.trim().split('\n')).toHaveLength(1);
    });

    it('scores 70/70', () => {
      const correct = runnable.filter((c) => {
        const r = results.get(`${c} ${mode}`);
        return c.endsWith('_fail') ? r?.code === 1 && r.reason === EXPECTED_FAILURE[c] : r?.code === 0;
      });
      process.stdout.write(`sigstore-conformance by ${mode}: ${correct.length}/${cases.length}\n`);
      expect(correct).toHaveLength(70);
    });
  });
});
