import type { PolicyConfig } from '#config';
import type { AttestationRow, ReadRepository, RepositoryScope, SignatureRow } from '#store';
import { NotFoundError } from './errors.js';
import type { ReferenceError } from './reference.js';
import type { Viewer } from './viewer.js';

/** Why a requirement or a subject failed, for policy engines to match on. */
export type VerdictCode =
  | 'invalid_reference'
  | 'unknown_registry'
  | 'unknown_tag'
  | 'unknown_digest'
  | 'not_in_scope'
  | 'no_signature'
  | 'signature_not_trusted'
  | 'no_attestation'
  | 'attestation_not_satisfied'
  | 'no_sbom';

export interface RequirementResult {
  type: 'signature' | 'attestation' | 'sbom';
  /** What was required, e.g. the predicate type. */
  requirement: string;
  satisfied: boolean;
  /** Set when not satisfied. */
  code?: VerdictCode;
  message: string;
  /** The artifacts that satisfy it, or that were considered and why they did not. */
  evidence: Evidence[];
}

export interface Evidence {
  artifact: string;
  status: string;
  reason?: string | null;
  identity?: string | null;
  issuer?: string | null;
  authority?: string | null;
  /** `<registry>/<repository>` whose trust rule produced a verification result. */
  repository?: string;
  builderId?: string | null;
  /** Referrers of referrers: the signatures over an attestation. */
  nested?: Evidence[];
}

export interface SubjectVerdict {
  /** The input as given (normalised when it parsed). */
  reference: string;
  /** The digest it names; null when it named nothing the caller may see. */
  subject: string | null;
  allowed: boolean;
  reasons: string[];
  codes: VerdictCode[];
  requirements: RequirementResult[];
}

export interface Verdict {
  policy: string;
  allowed: boolean;
  subjects: SubjectVerdict[];
}

interface Resolution {
  reference: string;
  registry?: string;
  repository?: string;
  digest: string;
}

const sigEvidence = (s: SignatureRow): Evidence => ({
  artifact: s.artifactDigest,
  status: s.status,
  reason: s.reason,
  identity: s.identity,
  issuer: s.issuer,
  authority: s.authority,
  repository: s.repository,
});

/**
 * Every input gets a verdict, and anything refgraph cannot vouch for is denied with a code: an
 * unparsable reference, an unknown registry, tag or digest, a repository outside the caller's
 * scope. Evidence counts only where the subject's trust rule applies: for a reference that names
 * a repository, only what is present in that repository; for a bare digest, what is present in
 * the caller's scope. Read from stored results only: no cryptography runs here.
 */
export async function evaluateSubjects(
  ctx: { read: ReadRepository; viewer: Viewer; trustVersion?: () => string },
  policy: PolicyConfig,
  inputs: string[],
  resolved: Array<Resolution | ReferenceError | NotFoundError>,
): Promise<Verdict> {
  const { read, viewer } = ctx;
  const groups = new Map<string, { scope: RepositoryScope; digests: Set<string> }>();
  const scopeOf = (r: Resolution): RepositoryScope =>
    r.registry ? [`${r.registry}/${r.repository}`] : viewer.scope;
  for (const r of resolved) {
    if (r instanceof Error) continue;
    const scope = scopeOf(r);
    const key = JSON.stringify(scope ?? null);
    const g = groups.get(key) ?? { scope, digests: new Set<string>() };
    g.digests.add(r.digest);
    groups.set(key, g);
  }
  const results = new Map<string, Map<string, RequirementResult[]>>();
  await Promise.all(
    [...groups].map(async ([key, g]) => {
      results.set(key, await evaluate(read, g.scope, policy, [...g.digests], ctx.trustVersion));
    }),
  );
  const subjects = resolved.map((r, i): SubjectVerdict => {
    if (r instanceof Error) {
      const code: VerdictCode = r instanceof NotFoundError ? r.reason : 'invalid_reference';
      return {
        reference: inputs[i]!,
        subject: null,
        allowed: false,
        reasons: [r.message],
        codes: [code],
        requirements: [],
      };
    }
    const requirements = results.get(JSON.stringify(scopeOf(r) ?? null))!.get(r.digest)!;
    const failed = requirements.filter((q) => !q.satisfied);
    return {
      reference: r.reference,
      subject: r.digest,
      allowed: failed.length === 0,
      reasons: failed.map((q) => q.message),
      codes: failed.map((q) => q.code!),
      requirements,
    };
  });
  return { policy: policy.name, allowed: subjects.every((s) => s.allowed), subjects };
}

/** The policy's requirements for each digest, from evidence visible under `scope`. */
async function evaluate(
  read: ReadRepository,
  scope: RepositoryScope,
  policy: PolicyConfig,
  subjects: string[],
  trustVersion: (() => string) | undefined,
): Promise<Map<string, RequirementResult[]>> {
  // A result computed under a superseded trust policy (an authority rotated, a rule changed, the
  // trusted root refreshed) is not evidence until it is verified again: it reads as pending. The
  // version in force is asked after the rows are read, so a root replaced while they were read
  // already counts.
  const current = (rows: SignatureRow[]): SignatureRow[] => {
    if (trustVersion === undefined) return rows;
    const inForce = trustVersion();
    return rows.map((s) =>
      s.policyVersion === inForce
        ? s
        : { ...s, status: 'pending', reason: 'policy_changed', authority: null },
    );
  };
  const [signatures, attestations, sboms] = await Promise.all([
    read.findSignatures(scope, subjects, { by: 'subject', kind: 'signature' }).then(current),
    read.findAttestations(scope, subjects, { by: 'subject' }),
    read.countSboms(scope, subjects),
  ]);
  const attestationArtifacts = [...new Set(attestations.map((a) => a.artifactDigest))];
  // An attestation counts as signed by its own envelope's verification, or by a signature over
  // the attestation manifest.
  const around = current(await read.findSignatures(scope, attestationArtifacts, { by: 'either' }));
  const overAttestations = around.filter((s) => s.kind === 'signature');
  const envelopes = around.filter((s) => s.kind === 'attestation');
  const out = new Map<string, RequirementResult[]>();
  for (const subject of subjects) {
    const requirements: RequirementResult[] = [];
    if (policy.signatures) {
      const wanted = policy.signatures.authorities;
      const mine = signatures.filter((s) => s.subjectDigest === subject);
      const good = mine.filter((s) => s.status === 'verified' && s.authority && wanted.includes(s.authority));
      requirements.push({
        type: 'signature',
        requirement: `signed by ${wanted.join(' or ')}`,
        satisfied: good.length > 0,
        ...(good.length ? {} : { code: mine.length ? 'signature_not_trusted' : 'no_signature' }),
        message: good.length
          ? `verified signature by ${good[0]!.authority}`
          : mine.length
            ? `none of ${mine.length} signature(s) is verified by ${wanted.join(' or ')}`
            : 'no signature found',
        evidence: (good.length ? good : mine).map(sigEvidence),
      });
    }
    for (const req of policy.attestations) {
      const mine = attestations.filter(
        (a) => a.subjectDigest === subject && a.predicateType === req.predicateType,
      );
      const evidence = mine.map((a) => {
        // The envelope that carried this very statement (same layer), verified for this subject.
        const own = envelopes.filter(
          (s) =>
            s.artifactDigest === a.artifactDigest &&
            s.layerDigest === a.layerDigest &&
            s.subjectDigest === subject,
        );
        const nested = [...overAttestations.filter((s) => s.subjectDigest === a.artifactDigest), ...own];
        return attestationEvidence(a, req, nested.map(sigEvidence), own);
      });
      const good = evidence.filter((e) => e.status === 'satisfied');
      requirements.push({
        type: 'attestation',
        requirement: req.predicateType,
        satisfied: good.length > 0,
        ...(good.length ? {} : { code: mine.length ? 'attestation_not_satisfied' : 'no_attestation' }),
        message: good.length
          ? `attestation ${good[0]!.artifact} satisfies ${req.predicateType}`
          : mine.length
            ? `no ${req.predicateType} attestation meets the requirement`
            : `no ${req.predicateType} attestation found`,
        evidence,
      });
    }
    if (policy.sbom) {
      const n = sboms.get(subject) ?? 0;
      requirements.push({
        type: 'sbom',
        requirement: 'an SBOM',
        satisfied: n > 0,
        ...(n > 0 ? {} : { code: 'no_sbom' as const }),
        message: n > 0 ? `${n} SBOM(s)` : 'no SBOM found',
        evidence: [],
      });
    }
    out.set(subject, requirements);
  }
  return out;
}

function attestationEvidence(
  a: AttestationRow,
  req: PolicyConfig['attestations'][number],
  nested: Evidence[],
  envelopes: SignatureRow[],
): Evidence {
  const base: Evidence = { artifact: a.artifactDigest, status: 'satisfied', builderId: a.builderId, nested };
  if (a.parseError) return { ...base, status: 'unsatisfied', reason: `unreadable: ${a.parseError}` };
  // A signed statement whose signature verified nowhere in scope (failed, pending, no authority)
  // is not evidence, whatever it claims; an unsigned one (BuildKit's) counts only where the
  // requirement names no `authorities`.
  if (envelopes.length > 0 && !envelopes.some((s) => s.status === 'verified')) {
    return { ...base, status: 'unsatisfied', reason: `its signature is ${envelopes[0]!.status}` };
  }
  if (req.builderIds && !(a.builderId && req.builderIds.includes(a.builderId))) {
    return { ...base, status: 'unsatisfied', reason: `builder ${a.builderId ?? '(none)'} is not allowed` };
  }
  if (req.authorities) {
    const ok = nested.some(
      (s) => s.status === 'verified' && s.authority && req.authorities!.includes(s.authority),
    );
    if (!ok)
      return { ...base, status: 'unsatisfied', reason: `not verified by ${req.authorities.join(' or ')}` };
  }
  return base;
}
