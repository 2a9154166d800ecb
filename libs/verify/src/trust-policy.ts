import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { json } from '@sigstore/core';
import { patternRegExp, type AuthorityConfig, type TrustConfig } from '#config';
import type { NotationTrust } from './notation/index.js';
import type { VerificationPolicy } from './policy.js';
import { loadTrustRoot, type TrustRoot, type TrustRootSource } from './trust-root.js';

/**
 * Bumped when verification code changes what it concludes or how results are stored, so stored
 * results are recomputed even when the configuration did not change.
 * 2: one result per repository that links the subject, and signatures kept apart from attestations.
 * 3: notation COSE envelopes and RFC 3161 timestamp countersignatures are verified;
 *    @sigstore/verify 4.1; DSSE logged as hashedrekord (over the pre-authentication encoding) is
 *    accepted in cosign layers too, and beside other log entries of the same bundle.
 */
export const VERIFIER_REVISION = 3;

export type Authority =
  | { name: string; kind: 'keyless' | 'key'; policy: VerificationPolicy }
  /** The stores hold PEM contents (read from the configured files). */
  | ({ name: string; kind: 'notation' } & NotationTrust);

/** One `trust.repositories` entry: the authorities that count where its pattern matches. */
export interface TrustRule {
  readonly pattern: string;
  readonly authorities: Authority[];
}

interface RepositoryRule extends TrustRule {
  re: RegExp;
}

/**
 * The trust configuration, resolved once: key files read, the trusted root loaded, repository
 * patterns compiled. `version` is a stable hash of all of it; stored results carry it.
 */
export class TrustPolicy {
  private constructor(
    readonly trustRoot: TrustRoot,
    readonly version: string,
    private readonly rules: RepositoryRule[],
    /** Everything the version covers except the trusted root, for `withTrustRoot`. */
    private readonly configured: object,
  ) {}

  /**
   * Reads keys and trust stores and compiles the rules; the trusted root is `root` when given (a
   * cached or refreshed one), else the one `config.trustedRoot` names.
   */
  static async load(config: TrustConfig, root?: TrustRoot): Promise<TrustPolicy> {
    const authorities = new Map<string, Authority>();
    for (const a of config.authorities) authorities.set(a.name, await resolveAuthority(a));
    const rules = config.repositories.map((r) => ({
      pattern: r.pattern,
      re: patternRegExp(r.pattern),
      authorities: r.authorities.map((n) => authorities.get(n)).filter((a): a is Authority => !!a),
    }));
    const trustRoot = root ?? (await loadTrustRoot(configuredRootSource(config)));
    const configured = {
      revision: VERIFIER_REVISION,
      authorities: [...authorities.values()],
      repositories: rules.map((r) => ({
        pattern: r.pattern,
        authorities: r.authorities.map((a) => a.name),
      })),
    };
    return new TrustPolicy(trustRoot, policyVersion(configured, trustRoot), rules, configured);
  }

  /** The same policy over another trusted root; its version differs when the root's content does. */
  withTrustRoot(root: TrustRoot): TrustPolicy {
    return new TrustPolicy(root, policyVersion(this.configured, root), this.rules, this.configured);
  }

  /**
   * The rule that decides for `<registry>/<repository>`: the first matching pattern, or null when
   * none matches. The same object for every repository it decides, so callers may key by it.
   */
  ruleFor(registry: string, repository: string): TrustRule | null {
    const name = `${registry}/${repository}`;
    return this.rules.find((r) => r.re.test(name)) ?? null;
  }

  /** The authorities of `ruleFor`; empty when no pattern matches. */
  authoritiesFor(registry: string, repository: string): Authority[] {
    return this.ruleFor(registry, repository)?.authorities ?? [];
  }
}

/** The root `trust.trustedRoot` names: the embedded public-good root, or a trusted_root.json file. */
export function configuredRootSource(config: Pick<TrustConfig, 'trustedRoot'>): TrustRootSource {
  return config.trustedRoot === 'public-good'
    ? { kind: 'public-good' }
    : { kind: 'file', path: config.trustedRoot };
}

/** A stable hash of the configuration and the trusted root's content; stored results carry it. */
function policyVersion(configured: object, root: TrustRoot): string {
  return sha256(json.canonicalize({ ...configured, trustedRoot: root.digest })).slice(0, 16);
}

async function resolveAuthority(a: AuthorityConfig): Promise<Authority> {
  if (a.keyless) {
    const k = a.keyless;
    const policy: VerificationPolicy = {
      ...(k.subject !== undefined ? { certificateIdentity: k.subject } : {}),
      ...(k.subjectRegExp !== undefined ? { certificateIdentityRegExp: k.subjectRegExp } : {}),
      ...(k.issuer !== undefined ? { certificateIssuer: k.issuer } : {}),
      ...(k.issuerRegExp !== undefined ? { certificateIssuerRegExp: k.issuerRegExp } : {}),
    };
    return { name: a.name, kind: 'keyless', policy };
  }
  if (a.key) {
    const pem = a.key.pem ?? (await readFile(a.key.pemFile!, 'utf8'));
    return { name: a.name, kind: 'key', policy: { publicKey: pem } };
  }
  const n = a.notation!;
  // The stores are read once: contents, so the policy version changes when a certificate does.
  const trustStore = await Promise.all(n.trustStore.map(readCertificateFile));
  const tsa = n.tsaTrustStore
    ? { tsaTrustStore: await Promise.all(n.tsaTrustStore.map(readCertificateFile)) }
    : {};
  return {
    name: a.name,
    kind: 'notation',
    trustStore,
    trustedIdentities: n.trustedIdentities,
    ...tsa,
    verifyTimestamp: n.verifyTimestamp,
  };
}

/**
 * A certificate file as PEM text. notation trust stores hold `.pem`, `.crt`, `.cer` and `.der`
 * files; a file without a PEM block is taken as one DER certificate (checked when verifying).
 */
async function readCertificateFile(file: string): Promise<string> {
  const bytes = await readFile(file);
  if (bytes.includes('-----BEGIN')) return bytes.toString('utf8');
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return ['-----BEGIN CERTIFICATE-----', ...lines, '-----END CERTIFICATE-----', ''].join('\n');
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
