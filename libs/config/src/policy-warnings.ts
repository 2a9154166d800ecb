import type { PolicyConfig } from './schema.js';

/**
 * What a policy admits that its author may not mean, said once at start-up: an attestation
 * requirement without `authorities` is met by a statement nobody had to sign (BuildKit's, or one
 * anyone who may push to the repository attached), so its `builderIds` are a claim, not a proof.
 */
export function policyWarnings(policies: PolicyConfig[]): string[] {
  const out: string[] = [];
  for (const p of policies) {
    for (const a of p.attestations) {
      if (a.authorities) continue;
      out.push(
        a.builderIds
          ? `policy ${p.name}: ${a.predicateType} names builderIds but no authorities, so an unsigned statement claiming one of those builders meets it; add authorities to require a verified signature`
          : `policy ${p.name}: ${a.predicateType} names neither builderIds nor authorities, so any statement of that type, unsigned included, meets it`,
      );
    }
  }
  return out;
}
