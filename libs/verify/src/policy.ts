import { createPublicKey, type KeyObject } from 'node:crypto';
import { VerificationFailure } from './result.js';

/**
 * Who must have signed. Keyless bundles are pinned by certificate identity and OIDC issuer, each
 * either exact or a regular expression; key-signed bundles by a public key. There is no "any
 * signer" policy: sigstore-js skips identity checks when none is given, and an admission decision
 * must never rest on "some valid Sigstore signature".
 */
export type VerificationPolicy = IdentityPolicy | KeyPolicy;

export interface IdentityPolicy {
  /** Exact subject alternative name (URI or email). */
  certificateIdentity?: string;
  /** Regular expression the whole SAN must match (anchored: `^(?:re)$`). */
  certificateIdentityRegExp?: string;
  /** Exact OIDC issuer URL. */
  certificateIssuer?: string;
  /** Regular expression the whole issuer must match (anchored). */
  certificateIssuerRegExp?: string;
}

export interface KeyPolicy {
  /** PEM-encoded SubjectPublicKeyInfo. */
  publicKey: string;
}

export type ResolvedPolicy =
  { kind: 'identity'; identity: Matcher; issuer: Matcher } | { kind: 'key'; key: KeyObject };

export interface Matcher {
  readonly description: string;
  matches(value: string | undefined): boolean;
}

/** Validates a policy once; every failure is a `VerificationFailure` with a policy reason. */
export function resolvePolicy(policy: VerificationPolicy | undefined | null): ResolvedPolicy {
  if (policy == null || typeof policy !== 'object') {
    throw new VerificationFailure(
      'policy_missing',
      'a policy naming a certificate identity and issuer, or a key, is required',
    );
  }
  if ('publicKey' in policy) {
    if (hasIdentityFields(policy)) {
      throw new VerificationFailure(
        'policy_invalid',
        'a policy pins either a key or a certificate identity, not both',
      );
    }
    return { kind: 'key', key: parsePublicKey(policy.publicKey) };
  }
  const identity = matcher(
    'certificate identity',
    policy.certificateIdentity,
    policy.certificateIdentityRegExp,
  );
  const issuer = matcher('certificate issuer', policy.certificateIssuer, policy.certificateIssuerRegExp);
  if (!identity || !issuer) {
    throw new VerificationFailure(
      'policy_missing',
      'a keyless policy must name both the certificate identity and the OIDC issuer',
    );
  }
  return { kind: 'identity', identity, issuer };
}

function hasIdentityFields(policy: object): boolean {
  return [
    'certificateIdentity',
    'certificateIdentityRegExp',
    'certificateIssuer',
    'certificateIssuerRegExp',
  ].some((k) => k in policy);
}

/**
 * Parsed keys by PEM text: policies come from the configuration and are resolved per verification,
 * so the same few keys are parsed over and over otherwise. Bounded all the same.
 */
const parsedKeys = new Map<string, KeyObject>();
const PARSED_KEYS_MAX = 1024;

function parsePublicKey(pem: unknown): KeyObject {
  if (typeof pem !== 'string' || pem.trim() === '') {
    throw new VerificationFailure('policy_missing', 'the key policy has no public key');
  }
  const known = parsedKeys.get(pem);
  if (known) return known;
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.delete(parsedKeys.keys().next().value!);
    parsedKeys.set(pem, key);
    return key;
  } catch (cause) {
    throw new VerificationFailure(
      'policy_invalid',
      `the policy's public key does not parse: ${errorText(cause)}`,
      {
        cause,
      },
    );
  }
}

function matcher(what: string, exact: string | undefined, pattern: string | undefined): Matcher | undefined {
  if (exact !== undefined && pattern !== undefined) {
    throw new VerificationFailure(
      'policy_invalid',
      `${what}: give an exact value or a regular expression, not both`,
    );
  }
  if (exact !== undefined) {
    if (typeof exact !== 'string' || exact === '') {
      throw new VerificationFailure('policy_invalid', `${what} must be a non-empty string`);
    }
    return { description: JSON.stringify(exact), matches: (v) => v === exact };
  }
  if (pattern !== undefined) {
    let re: RegExp;
    try {
      // Anchored: an unanchored pattern such as "@example.com" would accept "evil@example.com.attacker".
      re = new RegExp(`^(?:${pattern})$`, 'u');
    } catch (cause) {
      throw new VerificationFailure(
        'policy_invalid',
        `${what} regular expression is invalid: ${errorText(cause)}`,
        {
          cause,
        },
      );
    }
    return { description: `/${pattern}/`, matches: (v) => v !== undefined && re.test(v) };
  }
  return undefined;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
