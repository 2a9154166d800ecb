// Which authority's outcome a trust rule stores for one signature layer.
import type { VerificationResult } from './result.js';
import type { Authority, TrustRule } from './trust-policy.js';

/** A verification outcome, or that no authority could be tried. */
export type DecidedResult =
  VerificationResult | { status: 'no_authority'; reason: 'no_authority'; message: string };

export interface Decision {
  result: DecidedResult;
  /** null when the rule names no authority of a usable kind (or there is no rule). */
  authority: Authority | null;
}

const POLICY_MISMATCH = new Set(['identity_mismatch', 'issuer_mismatch', 'key_mismatch']);

/**
 * Tries each authority of `rule` whose kind is one of `kinds`; the first verified wins (see README
 * "Trust policy"). Otherwise a failure independent of who was expected (bad signature, untrusted
 * chain) is kept over "not this authority", because it explains more. Without a usable authority
 * the outcome is `no_authority`: nothing was verified, and nothing is trusted.
 */
export function decide(
  rule: TrustRule | null,
  scope: string,
  kinds: Authority['kind'][],
  attempt: (a: Authority) => VerificationResult,
): Decision {
  const candidates = (rule?.authorities ?? []).filter((a) => kinds.includes(a.kind));
  if (candidates.length === 0) {
    const where = rule
      ? `the trust rule ${rule.pattern} for ${scope} names`
      : `no trust rule covers ${scope}, so there is`;
    return {
      result: {
        status: 'no_authority',
        reason: 'no_authority',
        message: `${where} no ${kinds.join(' or ')} authority`,
      },
      authority: null,
    };
  }
  let chosen: { result: VerificationResult; authority: Authority } | undefined;
  for (const authority of candidates) {
    const result = attempt(authority);
    if (result.status === 'verified') return { result, authority };
    if (!chosen || (POLICY_MISMATCH.has(chosen.result.reason) && !POLICY_MISMATCH.has(result.reason))) {
      chosen = { result, authority };
    }
  }
  return chosen!;
}
