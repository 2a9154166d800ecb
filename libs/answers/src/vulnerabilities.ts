// "Which images are affected by CVE-X, after VEX?" and "what is this image vulnerable to?": findings
// from visible reports, each judged by the VEX statements that apply to it (./vex.ts).
import type { FindingRow, Location, ReadRepository, RepositoryScope } from '#store';
import { applicable, verdict, type AppliedStatement, type VexMode, type VexVerdict } from './vex.js';

export interface JudgedFinding {
  /** The report artifact and its format. */
  report: { artifact: string; format: string; producer: string | null };
  vulnerabilityId: string;
  aliases: string[];
  packageName: string | null;
  packageVersion: string | null;
  purl: string | null;
  severity: string | null;
  fixedVersion: string | null;
  vex: VexVerdict;
  /** Every applicable statement visible to the caller, oldest first (counted or not). */
  statements: AppliedStatement[];
}

export interface VulnerableImage {
  digest: string;
  /** Affected after VEX: some finding of the vulnerability on it is not cleared. */
  affected: boolean;
  /** The deciding verdict: the first finding still affected, else the latest clearing statement. */
  vex: VexVerdict;
  locations: Location[];
  findings: JudgedFinding[];
}

export interface VulnerableImagesPage {
  vulnerability: string;
  vex: VexMode;
  artifacts: VulnerableImage[];
  nextCursor: string | null;
}

/** Findings of one vulnerability on one image, at most this many (reports repeat findings per package). */
export const FINDINGS_PER_IMAGE = 100;
/** Applicable statements listed with one finding. */
export const STATEMENTS_PER_FINDING = 20;

interface Ctx {
  read: ReadRepository;
  scope: RepositoryScope;
  /** The trust policy version in force when asked: VEX counts as verified only under it. */
  trustVersion: () => string;
}

export async function vulnerableImages(
  ctx: Ctx,
  vulnerabilityId: string,
  opts: { after?: string; limit: number; vex: VexMode; locationLimit: number },
): Promise<VulnerableImagesPage> {
  const id = vulnerabilityId.toUpperCase();
  const rows = await ctx.read.findVulnerableImages(ctx.scope, id, {
    after: opts.after,
    limit: opts.limit + 1,
    perImage: FINDINGS_PER_IMAGE,
  });
  const page = rows.slice(0, opts.limit);
  const images = page.map((r) => r.digest);
  const [judged, locations] = await Promise.all([
    judge(
      ctx,
      page.flatMap((r) => r.findings),
      opts.vex,
    ),
    ctx.read.findLocations(ctx.scope, images, opts.locationLimit),
  ]);
  return {
    vulnerability: id,
    vex: opts.vex,
    artifacts: page.map((r) => {
      const findings = judged.filter((f) => f.image === r.digest).map((f) => f.finding);
      return {
        digest: r.digest,
        ...imageVerdict(findings),
        locations: locations.get(r.digest) ?? [],
        findings,
      };
    }),
    nextCursor: rows.length > opts.limit ? page.at(-1)!.digest : null,
  };
}

/** Findings about each subject (paged per subject by finding id), each with its VEX verdict. */
export async function imageFindings(
  ctx: Ctx,
  subjects: string[],
  opts: { after?: number; limit: number; vex: VexMode },
): Promise<Array<{ image: string; id: number; finding: JudgedFinding }>> {
  return judge(ctx, await ctx.read.findFindings(ctx.scope, subjects, opts), opts.vex);
}

async function judge(
  ctx: Ctx,
  findings: FindingRow[],
  mode: VexMode,
): Promise<Array<{ image: string; id: number; finding: JudgedFinding }>> {
  const images = [...new Set(findings.map((f) => f.subjectDigest))];
  const ids = [...new Set(findings.flatMap((f) => [f.vulnerabilityId, ...f.aliases]))];
  const statements = await ctx.read.findVexCandidates(ctx.scope, images, ids, ctx.trustVersion());
  return findings.map((f) => {
    const applied = applicable(f.subjectDigest, f, statements, mode);
    return {
      image: f.subjectDigest,
      id: f.id,
      finding: {
        report: { artifact: f.artifactDigest, format: f.format, producer: f.producer },
        vulnerabilityId: f.vulnerabilityId,
        aliases: f.aliases,
        packageName: f.packageName,
        packageVersion: f.packageVersion,
        purl: f.purl,
        severity: f.severity,
        fixedVersion: f.fixedVersion,
        vex: verdict(applied),
        statements: applied.slice(-STATEMENTS_PER_FINDING),
      },
    };
  });
}

function imageVerdict(findings: JudgedFinding[]): { affected: boolean; vex: VexVerdict } {
  const open = findings.find((f) => f.vex.affected);
  if (open) return { affected: true, vex: open.vex };
  const latest = findings
    .map((f) => f.vex)
    .sort((a, b) => (a.statement?.timestamp ?? '').localeCompare(b.statement?.timestamp ?? ''))
    .at(-1);
  return { affected: false, vex: latest ?? { status: null, affected: true, statement: null } };
}
