import type { PolicyConfig } from '#config';
import type { AttestationRow, PolicySbomRow, ReadRepository, ScopedDigests, SignatureRow } from '#store';
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
  | 'no_sbom'
  | 'sbom_not_verified';

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
 * the caller's scope. Read from stored results only: no cryptography runs here. However many
 * inputs and repositories, the evidence takes a fixed number of statements (see evaluate).
 */
export async function evaluateSubjects(
  ctx: { read: ReadRepository; viewer: Viewer; trustVersion: () => string },
  policy: PolicyConfig,
  inputs: string[],
  resolved: Array<Resolution | ReferenceError | NotFoundError>,
): Promise<Verdict> {
  const { read, viewer } = ctx;
  // One group per scope evidence is read under: each named repository, and the caller's scope.
  const groups: ScopedDigests[] = [];
  const groupOf = new Map<string, number>();
  const groupIndex = (r: Resolution): number => {
    const key = r.registry ? `${r.registry}/${r.repository}` : '';
    let at = groupOf.get(key);
    if (at === undefined) {
      at = groups.push({ scope: r.registry ? [key] : viewer.scope, digests: [] }) - 1;
      groupOf.set(key, at);
    }
    return at;
  };
  const at = resolved.map((r) => {
    if (r instanceof Error) return -1;
    const g = groupIndex(r);
    if (!groups[g]!.digests.includes(r.digest)) groups[g]!.digests.push(r.digest);
    return g;
  });
  const results = await evaluate(read, groups, policy, ctx.trustVersion);
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
    const requirements = results[at[i]!]!.get(r.digest)!;
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

/** Rows by a key, in their order. */
export function indexBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

/**
 * The policy's requirements for each group's digests, from evidence visible under the group's
 * scope: each read covers every group in one statement (at most four in all, fewer when the
 * policy needs less), whatever the number of digests and groups.
 */
async function evaluate(
  read: ReadRepository,
  groups: ScopedDigests[],
  policy: PolicyConfig,
  trustVersion: () => string,
): Promise<Array<Map<string, RequirementResult[]>>> {
  // A result computed under a superseded trust policy (an authority rotated, a rule changed, the
  // trusted root refreshed) is not evidence until it is verified again: it reads as pending. The
  // version in force is asked after the rows are read, so a root replaced while they were read
  // already counts.
  const current = (lists: SignatureRow[][]): SignatureRow[][] => {
    const inForce = trustVersion();
    return lists.map((rows) =>
      rows.map((s) =>
        s.policyVersion === inForce
          ? s
          : { ...s, status: 'pending', reason: 'policy_changed', authority: null },
      ),
    );
  };
  const none = <T>(): T[][] => groups.map(() => []);
  // The reads are capped per subject; they rank the rows that can count first, those verified
  // under this version (signatures: by the authorities the policy names) before others. Only an
  // order: what counts is still decided by `current` and the requirements. Statements of types
  // no requirement names are not read at all: they never count here.
  const ranking = trustVersion();
  const [signatures, attestations, sboms] = await Promise.all([
    policy.signatures
      ? read
          .findSignaturesByScope(groups, {
            by: 'subject',
            kind: 'signature',
            trustVersion: ranking,
            authorities: policy.signatures.authorities,
          })
          .then(current)
      : none<SignatureRow>(),
    policy.attestations.length
      ? read.findAttestationsByScope(groups, {
          by: 'subject',
          trustVersion: ranking,
          predicateTypes: [...new Set(policy.attestations.map((a) => a.predicateType))],
        })
      : none<AttestationRow>(),
    policy.sbom ? read.findPolicySbomsByScope(groups, { trustVersion: ranking }) : none<PolicySbomRow>(),
  ]);
  // An attestation counts as signed by its own envelope's verification, or by a signature over
  // the attestation manifest; a signed SBOM by its envelope's.
  const around = current(
    await read.findSignaturesByScope(
      groups.map((g, i) => ({
        scope: g.scope,
        digests: [
          ...new Set([
            ...attestations[i]!.map((a) => a.artifactDigest),
            ...sboms[i]!.filter((b) => b.signed).map((b) => b.artifactDigest),
          ]),
        ],
      })),
      { by: 'either', trustVersion: ranking },
    ),
  );
  return groups.map((g, i) =>
    requirementsOf(policy, g.digests, {
      signatures: indexBy(signatures[i]!, (s) => s.subjectDigest),
      attestations: indexBy(attestations[i]!, (a) => `${a.subjectDigest} ${a.predicateType}`),
      sboms: indexBy(sboms[i]!, (b) => b.subjectDigest),
      overAttestations: indexBy(
        around[i]!.filter((s) => s.kind === 'signature'),
        (s) => s.subjectDigest,
      ),
      envelopes: indexBy(
        around[i]!.filter((s) => s.kind === 'attestation'),
        (s) => `${s.artifactDigest} ${s.layerDigest} ${s.subjectDigest}`,
      ),
    }),
  );
}

/** One group's evidence, indexed for the requirements' look-ups. */
interface GroupEvidence {
  signatures: Map<string, SignatureRow[]>;
  /** By `subject predicateType`. */
  attestations: Map<string, AttestationRow[]>;
  sboms: Map<string, PolicySbomRow[]>;
  /** Signatures over attestation manifests, by the attestation's digest. */
  overAttestations: Map<string, SignatureRow[]>;
  /** Envelope verifications, by `artifact layer subject`. */
  envelopes: Map<string, SignatureRow[]>;
}

function requirementsOf(
  policy: PolicyConfig,
  subjects: string[],
  ev: GroupEvidence,
): Map<string, RequirementResult[]> {
  const out = new Map<string, RequirementResult[]>();
  for (const subject of subjects) {
    const requirements: RequirementResult[] = [];
    if (policy.signatures) {
      const wanted = policy.signatures.authorities;
      const mine = ev.signatures.get(subject) ?? [];
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
      const mine = ev.attestations.get(`${subject} ${req.predicateType}`) ?? [];
      const evidence = mine.map((a) => {
        // The envelope that carried this very statement (same layer), verified for this subject.
        const own = ev.envelopes.get(`${a.artifactDigest} ${a.layerDigest} ${subject}`) ?? [];
        const nested = [...(ev.overAttestations.get(a.artifactDigest) ?? []), ...own];
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
      const mine = ev.sboms.get(subject) ?? [];
      const evidence = mine.map((b) =>
        sbomEvidence(b, ev.envelopes.get(`${b.artifactDigest} ${b.layerDigest} ${subject}`) ?? []),
      );
      const n = evidence.filter((e) => e.status === 'satisfied').length;
      requirements.push({
        type: 'sbom',
        requirement: 'an SBOM',
        satisfied: n > 0,
        ...(n > 0 ? {} : { code: mine.length ? ('sbom_not_verified' as const) : ('no_sbom' as const) }),
        message:
          n > 0
            ? `${n} SBOM(s)`
            : mine.length
              ? `none of ${mine.length} signed SBOM(s) has a verified signature`
              : 'no SBOM found',
        evidence,
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
  // A signed statement whose signature verified nowhere in scope (failed, pending, no authority,
  // or not yet verified for the repositories in scope) is not evidence, whatever it claims; an
  // unsigned one (BuildKit's) counts only where the requirement names no `authorities`.
  const unverified = envelopeUnverified(a.signed, envelopes);
  if (unverified) return { ...base, status: 'unsatisfied', reason: unverified };
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

/** Why a signed document is not evidence: its envelope did not verify in scope; null if it did or is unsigned. */
function envelopeUnverified(signed: boolean, envelopes: SignatureRow[]): string | null {
  if (envelopes.some((s) => s.status === 'verified')) return null;
  if (envelopes.length > 0) return `its signature is ${envelopes[0]!.status}`;
  return signed ? 'its signature is not verified in any repository in scope yet' : null;
}

/** An SBOM counts unless it came signed and its envelope did not verify in scope. */
function sbomEvidence(b: PolicySbomRow, envelopes: SignatureRow[]): Evidence {
  const unverified = envelopeUnverified(b.signed, envelopes);
  return {
    artifact: b.artifactDigest,
    status: unverified ? 'unsatisfied' : 'satisfied',
    ...(unverified ? { reason: unverified } : {}),
    nested: envelopes.map(sigEvidence),
  };
}
