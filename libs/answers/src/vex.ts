// Which VEX statements apply to a finding on an image, and which one wins: the semantics of
// "affected after VEX" (README, trust section; docs/verification.md). Pure: rows in, verdict out.
import type { FindingRow, VexStatementRow } from '#store';
import { normalisePurl } from '#verify';

/** `verified` (default): only statements whose signed envelope verified count; `any`: every visible one. */
export type VexMode = 'verified' | 'any';

export interface AppliedStatement {
  vulnerabilityId: string;
  status: string;
  justification: string | null;
  impactStatement: string | null;
  actionStatement: string | null;
  timestamp: string | null;
  /** The VEX artifact and the image its document refers to. */
  document: { artifact: string; subject: string; format: string; author: string | null };
  signed: boolean;
  verified: boolean;
  /** Counted under the caller's mode (verified, or vex=any). */
  counted: boolean;
}

export interface VexVerdict {
  /** The winning statement's status; null when no counted statement applies. */
  status: string | null;
  /** Still affected after VEX: no counted statement, or the latest says affected or under_investigation. */
  affected: boolean;
  statement: AppliedStatement | null;
}

const CLEARING = new Set(['not_affected', 'fixed']);

/**
 * Statements applicable to `finding` on `image`, newest last. A statement applies when it names
 * the finding's vulnerability (id or alias, either side) and one of its products covers the image:
 * a product naming image digests covers exactly those images; one naming none covers the image the
 * VEX document refers to; a statement without products covers that image too. A product that names
 * packages (a package purl as the product, or subcomponents) covers only findings in one of them.
 */
export function applicable(
  image: string,
  finding: Pick<FindingRow, 'vulnerabilityId' | 'aliases' | 'purl' | 'purlBase'>,
  statements: VexStatementRow[],
  mode: VexMode,
): AppliedStatement[] {
  const ids = new Set([finding.vulnerabilityId, ...finding.aliases]);
  return statements
    .filter((s) => ids.has(s.vulnerabilityId) || s.aliases.some((a) => ids.has(a)))
    .filter((s) => covers(s, image, finding))
    .map((s) => toApplied(s, mode))
    .sort(order);
}

/** The latest counted statement wins; on equal times one that keeps the image affected does. */
export function verdict(applied: AppliedStatement[]): VexVerdict {
  const winner = applied.filter((s) => s.counted).at(-1) ?? null;
  return {
    status: winner?.status ?? null,
    affected: !winner || !CLEARING.has(winner.status),
    statement: winner,
  };
}

function covers(s: VexStatementRow, image: string, finding: Pick<FindingRow, 'purl' | 'purlBase'>): boolean {
  if (s.products.length === 0) return s.subjectDigest === image;
  return s.products.some((p) => {
    const imageCovered = p.digests.length > 0 ? p.digests.includes(image) : s.subjectDigest === image;
    if (!imageCovered) return false;
    const scope = [...p.packages, ...p.subcomponents];
    return scope.length === 0 || scope.some((purl) => samePackage(purl, finding));
  });
}

/**
 * A purl with a version names that version (qualifiers such as arch or distro ignored, since
 * scanners add them and VEX authors rarely do); one without names every version of the package.
 */
function samePackage(purl: string, finding: Pick<FindingRow, 'purl' | 'purlBase'>): boolean {
  const want = normalisePurl(purl);
  const have = normalisePurl(finding.purl);
  if (!want || !have) return false;
  const bare = (p: string) => p.split('#', 1)[0]!.split('?', 1)[0]!;
  return bare(want.purl) === want.purlBase
    ? want.purlBase === have.purlBase
    : bare(want.purl) === bare(have.purl);
}

function toApplied(s: VexStatementRow, mode: VexMode): AppliedStatement {
  return {
    vulnerabilityId: s.vulnerabilityId,
    status: s.status,
    justification: s.justification,
    impactStatement: s.impactStatement,
    actionStatement: s.actionStatement,
    timestamp: s.statedAt ? new Date(s.statedAt).toISOString() : null,
    document: { artifact: s.artifactDigest, subject: s.subjectDigest, format: s.format, author: s.author },
    signed: s.signed,
    verified: s.verified,
    counted: mode === 'any' || s.verified,
  };
}

function order(a: AppliedStatement, b: AppliedStatement): number {
  const ta = a.timestamp ? Date.parse(a.timestamp) : -Infinity;
  const tb = b.timestamp ? Date.parse(b.timestamp) : -Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  // Equal times: a clearing statement sorts first, so one that keeps the image affected wins.
  const ca = CLEARING.has(a.status) ? 0 : 1;
  const cb = CLEARING.has(b.status) ? 0 : 1;
  return ca - cb || a.document.artifact.localeCompare(b.document.artifact);
}
