import type { PolicyConfig } from '#config';
import type { AttestationRow, QueryRepository, SignatureRow } from '#store';

export interface RequirementResult {
  type: 'signature' | 'attestation' | 'sbom';
  /** What was required, e.g. the predicate type. */
  requirement: string;
  satisfied: boolean;
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
  builderId?: string | null;
  /** Referrers of referrers: the signatures over an attestation. */
  nested?: Evidence[];
}

export interface SubjectVerdict {
  subject: string;
  allowed: boolean;
  reasons: string[];
  requirements: RequirementResult[];
}

export interface Verdict {
  policy: string;
  allowed: boolean;
  subjects: SubjectVerdict[];
}

const sigEvidence = (s: SignatureRow): Evidence => ({
  artifact: s.artifactDigest,
  status: s.status,
  reason: s.reason,
  identity: s.identity,
  issuer: s.issuer,
  authority: s.authority,
});

/**
 * Evaluates a named policy from stored results only: signatures verified at ingest, parsed
 * attestations and SBOMs. No cryptography runs here, so an admission request is a few lookups.
 */
export async function evaluatePolicy(
  query: QueryRepository,
  policy: PolicyConfig,
  subjects: string[],
): Promise<Verdict> {
  const [signatures, attestations, sboms] = await Promise.all([
    query.findSignatures(subjects),
    query.findAttestations(subjects),
    query.countSboms(subjects),
  ]);
  const attestationArtifacts = [...new Set(attestations.map((a) => a.artifactDigest))];
  // Signatures that cover an attestation artifact, or are carried inside it (DSSE bundles).
  const [attSigsBySubject, attSigsByArtifact] = await Promise.all([
    query.findSignatures(attestationArtifacts),
    query.findSignatures(attestationArtifacts, 'artifact'),
  ]);
  const attestationSignatures = [...attSigsBySubject, ...attSigsByArtifact];

  const results = subjects.map((subject): SubjectVerdict => {
    const requirements: RequirementResult[] = [];
    if (policy.signatures) {
      const wanted = policy.signatures.authorities;
      const mine = signatures.filter((s) => s.subjectDigest === subject);
      const good = mine.filter((s) => s.status === 'verified' && s.authority && wanted.includes(s.authority));
      requirements.push({
        type: 'signature',
        requirement: `signed by ${wanted.join(' or ')}`,
        satisfied: good.length > 0,
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
      const evidence = mine.map((a) => attestationEvidence(a, req, attestationSignatures));
      const good = evidence.filter((e) => e.status === 'satisfied');
      requirements.push({
        type: 'attestation',
        requirement: req.predicateType,
        satisfied: good.length > 0,
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
        message: n > 0 ? `${n} SBOM(s)` : 'no SBOM found',
        evidence: [],
      });
    }
    const failed = requirements.filter((r) => !r.satisfied);
    return { subject, allowed: failed.length === 0, reasons: failed.map((r) => r.message), requirements };
  });
  return { policy: policy.name, allowed: results.every((r) => r.allowed), subjects: results };
}

function attestationEvidence(
  a: AttestationRow,
  req: PolicyConfig['attestations'][number],
  signatures: SignatureRow[],
): Evidence {
  const nested = signatures
    .filter((s) => s.subjectDigest === a.artifactDigest || s.artifactDigest === a.artifactDigest)
    .map(sigEvidence);
  const base: Evidence = { artifact: a.artifactDigest, status: 'satisfied', builderId: a.builderId, nested };
  if (a.parseError) return { ...base, status: 'unsatisfied', reason: `unreadable: ${a.parseError}` };
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
