// Evidence reads: verification results, attestations, SBOMs and their packages, under the one
// visibility rule (./visibility.ts).
import type { ReadSource } from './replicas.js';
import type { AttestationRow, PackageRow, RepositoryScope, SignatureRow } from '../query.rows.js';
import { SIGNATURE_COLUMNS, SIGNATURE_JOINS, type SbomRow } from './rows.js';
import {
  linkedInScope,
  presentInScope,
  scopeParam,
  verificationVisible,
  type ScopeRef,
} from './visibility.js';

export type VerificationKind = 'signature' | 'attestation';

/** An SBOM as a policy's `sbom` requirement weighs it. */
export interface PolicySbomRow {
  artifactDigest: string;
  layerDigest: string;
  subjectDigest: string;
  /** Came out of a signature envelope: counts only where that envelope verified. */
  signed: boolean;
}

/** Digests read under one scope; see EvidenceReads' `*ByScope` reads. */
export interface ScopedDigests {
  scope: RepositoryScope;
  digests: string[];
}

/**
 * `trustVersion`: the trust policy version in force, when the caller knows it: rows verified under
 * it rank first under the cap (see the reads' ranks below); `authorities`: of those, the ones
 * verified by these authorities (a policy's) rank before the others. Both only order; they filter
 * nothing.
 */
type SignatureOpts = {
  by: 'subject' | 'artifact' | 'either';
  kind?: VerificationKind;
  limit?: number;
  trustVersion?: string;
  authorities?: string[];
};
/** `predicateTypes`: only statements of these types (a policy's), when given. */
type AttestationOpts = {
  by: 'subject' | 'artifact';
  predicateType?: string;
  predicateTypes?: string[];
  limit?: number;
  trustVersion?: string;
};

/*
 * Ranks under a cap. Anyone who can push referrers to a repository can add evidence rows over an
 * image (each layer of a signature or attestation manifest is one), so a cap that ranked rows by
 * digest alone would let rows that can never count push out the one a verdict needs. Each capped
 * read ranks first the rows that can count (libs/answers verdict.ts decides what does), then by its
 * deterministic order; the statements' output order stays the same. Listings under the same caps
 * therefore prefer verified evidence when a subject has more rows than the cap.
 */

/** The verification row `s` verified, under `version` (a parameter reference) when it is not null. */
const verifiedUnder = (version: string): string =>
  `s.status = 'verified' AND (${version}::text IS NULL OR s.policy_version = ${version})`;

/**
 * Verified rows first: under the version in force by one of `authorities` (a parameter reference;
 * any authority when it is null), then under that version by another (they verify and still count
 * for no policy that asks for those authorities), then under other versions; failed and the rest last.
 */
const signatureRank = (version: string, authorities: string): string =>
  `CASE WHEN ${verifiedUnder(version)} AND (${authorities}::text[] IS NULL OR s.authority = ANY(${authorities}::text[])) THEN 0
        WHEN ${verifiedUnder(version)} THEN 1 WHEN s.status = 'verified' THEN 2 ELSE 3 END`;

/**
 * The envelope that carried the document of `alias` (artifact, layer, subject) verified for that
 * subject, visible in scope: what makes a signed attestation or SBOM evidence.
 */
function envelopeVerified(alias: string, scope: ScopeRef, version: string): string {
  return `EXISTS (SELECT 1 FROM signature s
           WHERE s.artifact_digest = ${alias}.artifact_digest AND s.layer_digest = ${alias}.layer_digest
             AND s.subject_digest = ${alias}.subject_digest AND s.kind = 'attestation'
             AND ${verifiedUnder(version)} AND ${verificationVisible('s', scope)})`;
}

/**
 * Attestations that can count first: a readable statement whose own envelope verified (signed), or
 * an unsigned one with a verified signature over its manifest; then other unsigned ones (evidence
 * where a requirement names no authorities); last the unreadable and the signed whose envelope
 * did not verify, which never count.
 */
function attestationRank(scope: ScopeRef, version: string): string {
  return `CASE WHEN t.parse_error IS NOT NULL OR (t.signed AND NOT ${envelopeVerified('t', scope, version)}) THEN 2
               WHEN t.signed OR EXISTS (SELECT 1 FROM signature s
                 WHERE s.subject_digest = t.artifact_digest AND s.kind = 'signature'
                   AND ${verifiedUnder(version)} AND ${verificationVisible('s', scope)}) THEN 0
               ELSE 1 END`;
}

/**
 * SBOMs that count first: unsigned ones and signed ones whose envelope verified; a signed one
 * whose envelope did not verify never counts.
 */
const sbomRank = (scope: ScopeRef, version: string): string =>
  `CASE WHEN b.signed AND NOT ${envelopeVerified('b', scope, version)} THEN 1 ELSE 0 END`;

/**
 * A read's rows before its cap (`n`, the row's rank in its partition), over the digests of the
 * array expression `digests` under the scope `scope`; `kind`, `version`, `authorities` (see
 * SignatureOpts) and `limit` are parameter references.
 */
function signatureRows(
  digests: string,
  scope: ScopeRef,
  opts: SignatureOpts,
  kind: string,
  version: string,
  authorities: string,
): string {
  const column =
    opts.by === 'either'
      ? `CASE WHEN s.subject_digest = ANY(${digests}) THEN s.subject_digest ELSE s.artifact_digest END`
      : opts.by === 'subject'
        ? 's.subject_digest'
        : 's.artifact_digest';
  const match =
    opts.by === 'either'
      ? `(s.subject_digest = ANY(${digests}) OR s.artifact_digest = ANY(${digests}))`
      : `${column} = ANY(${digests})`;
  return `SELECT ${SIGNATURE_COLUMNS}, row_number() OVER (PARTITION BY ${column}
           ORDER BY ${signatureRank(version, authorities)}, s.artifact_digest, s.layer_digest, sg.name, sr.name) AS n
         FROM signature s ${SIGNATURE_JOINS}
         WHERE ${match} AND (${kind}::text IS NULL OR s.kind = ${kind}) AND ${verificationVisible('s', scope)}`;
}
const SIGNATURE_ORDER = `"subjectDigest", "artifactDigest", "layerDigest", repository`;

/** `predicate`, `types` (predicateTypes) and `version` are parameter references. */
function attestationRows(
  digests: string,
  scope: ScopeRef,
  opts: AttestationOpts,
  predicate: string,
  types: string,
  version: string,
): string {
  const column = opts.by === 'artifact' ? 't.artifact_digest' : 't.subject_digest';
  return `SELECT t.artifact_digest AS "artifactDigest", t.layer_digest AS "layerDigest", t.subject_digest AS "subjectDigest",
                t.predicate_type AS "predicateType", t.builder_id AS "builderId", t.build_type AS "buildType",
                t.source_repo AS "sourceRepo", t.source_revision AS "sourceRevision", t.vuln_counts AS "vulnCounts",
                t.parse_error AS "parseError", t.signed,
                row_number() OVER (PARTITION BY ${column}
                  ORDER BY ${attestationRank(scope, version)}, t.predicate_type, t.artifact_digest, t.layer_digest) AS n
         FROM attestation t
         WHERE ${column} = ANY(${digests}) AND (${predicate}::text IS NULL OR t.predicate_type = ${predicate})
           AND (${types}::text[] IS NULL OR t.predicate_type = ANY(${types}::text[]))
           AND ${linkedInScope('t.artifact_digest', 't.subject_digest', scope)}`;
}
const ATTESTATION_ORDER = `"subjectDigest", "predicateType", "artifactDigest", "layerDigest"`;

/** Readable SBOMs per subject, the ones a policy's `sbom` requirement weighs, ranked `n`. */
function policySbomRows(digests: string, scope: ScopeRef, version: string): string {
  return `SELECT b.artifact_digest AS "artifactDigest", b.layer_digest AS "layerDigest", b.subject_digest AS "subjectDigest",
                b.signed, row_number() OVER (PARTITION BY b.subject_digest
                  ORDER BY ${sbomRank(scope, version)}, b.signed, b.artifact_digest, b.layer_digest) AS n
         FROM sbom b
         WHERE b.subject_digest = ANY(${digests}) AND b.parse_error IS NULL
           AND ${linkedInScope('b.artifact_digest', 'b.subject_digest', scope)}`;
}

function sbomCounts(digests: string, scope: ScopeRef): string {
  return `SELECT b.subject_digest, count(*)::int AS sboms FROM sbom b
       WHERE b.subject_digest = ANY(${digests}) AND b.parse_error IS NULL AND ${linkedInScope('b.artifact_digest', 'b.subject_digest', scope)}
       GROUP BY b.subject_digest`;
}

/**
 * `rows` (a read over `q.digests` under `q.scope`) for every group at once: $1, $2 and $3 carry
 * the groups (see groupParams), and each group's rows are what the read returns for it alone,
 * tagged `g`, the group's index.
 */
function perGroup(rows: string, where = 'true', order = ''): string {
  return `SELECT q.g - 1 AS g, x.* FROM (
         SELECT d.g, s.scope, array_agg(d.digest) AS digests
         FROM unnest($1::text[], $2::int[]) AS d(digest, g)
         JOIN unnest($3::text[]) WITH ORDINALITY AS s(scope, g) ON s.g = d.g
         GROUP BY d.g, s.scope) q
       CROSS JOIN LATERAL (${rows}) x
       WHERE ${where}
       ORDER BY q.g${order ? `, ${order}` : ''}`;
}

function groupParams(groups: ScopedDigests[]): [string[], number[], string[]] {
  return [
    groups.flatMap((g) => g.digests),
    groups.flatMap((g, i) => g.digests.map(() => i + 1)),
    groups.map((g) => scopeParam(g.scope)),
  ];
}

/** Each group's rows, in the groups' order, without the rank `n` of the capped reads. */
function byGroup<R>(groups: ScopedDigests[], rows: Array<R & { g: number; n?: unknown }>): R[][] {
  const out = groups.map((): R[] => []);
  for (const { g, n: _n, ...r } of rows) out[g]!.push(r as unknown as R);
  return out;
}

export class EvidenceReads {
  /** `db`: the primary, or a ReadReplicas chooser that spreads reads over replicas. */
  constructor(protected readonly db: ReadSource) {}

  /**
   * Verification rows by subject or by signature artifact, each the result of one repository's
   * trust rule, visible when that repository is in scope and holds the signature artifact.
   * `kind` keeps signatures over the subject apart from signed attestations.
   */
  async findSignatures(
    scope: RepositoryScope,
    digests: string[],
    opts: SignatureOpts,
  ): Promise<SignatureRow[]> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query<SignatureRow & { n?: unknown }>(
      `SELECT * FROM (${signatureRows('$1', 2, opts, '$3', '$5', '$6')}) x WHERE n <= $4 ORDER BY ${SIGNATURE_ORDER}`,
      [
        digests,
        scopeParam(scope),
        opts.kind ?? null,
        opts.limit ?? 1000,
        opts.trustVersion ?? null,
        opts.authorities ?? null,
      ],
    );
    return rows.map(({ n: _n, ...r }) => r);
  }

  /**
   * findSignatures for several groups of digests, each under its own scope, in one statement:
   * one list per group, each what findSignatures answers for that group alone.
   */
  async findSignaturesByScope(groups: ScopedDigests[], opts: SignatureOpts): Promise<SignatureRow[][]> {
    if (!groups.some((g) => g.digests.length > 0)) return groups.map(() => []);
    const { rows } = await this.db.pool.query<SignatureRow & { g: number; n?: unknown }>(
      perGroup(signatureRows('q.digests', 'q.scope', opts, '$4', '$6', '$7'), 'x.n <= $5', SIGNATURE_ORDER),
      [
        ...groupParams(groups),
        opts.kind ?? null,
        opts.limit ?? 1000,
        opts.trustVersion ?? null,
        opts.authorities ?? null,
      ],
    );
    return byGroup(groups, rows);
  }

  /** Parsed attestation statements by subject or by attestation artifact, visible where linked (linkedInScope). */
  async findAttestations(
    scope: RepositoryScope,
    digests: string[],
    opts: AttestationOpts,
  ): Promise<AttestationRow[]> {
    if (digests.length === 0) return [];
    const { rows } = await this.db.pool.query<AttestationRow & { n?: unknown }>(
      `SELECT * FROM (${attestationRows('$1', 2, opts, '$3', '$6', '$5')}) x WHERE n <= $4 ORDER BY ${ATTESTATION_ORDER}`,
      [
        digests,
        scopeParam(scope),
        opts.predicateType ?? null,
        opts.limit ?? 1000,
        opts.trustVersion ?? null,
        opts.predicateTypes ?? null,
      ],
    );
    return rows.map(({ n: _n, ...r }) => r);
  }

  /** findAttestations for several groups of digests, each under its own scope, in one statement. */
  async findAttestationsByScope(groups: ScopedDigests[], opts: AttestationOpts): Promise<AttestationRow[][]> {
    if (!groups.some((g) => g.digests.length > 0)) return groups.map(() => []);
    const { rows } = await this.db.pool.query<AttestationRow & { g: number; n?: unknown }>(
      perGroup(
        attestationRows('q.digests', 'q.scope', opts, '$4', '$7', '$6'),
        'x.n <= $5',
        ATTESTATION_ORDER,
      ),
      [
        ...groupParams(groups),
        opts.predicateType ?? null,
        opts.limit ?? 1000,
        opts.trustVersion ?? null,
        opts.predicateTypes ?? null,
      ],
    );
    return byGroup(groups, rows);
  }

  /** SBOMs describing the given subjects, visible where linked (linkedInScope). */
  async findSboms(scope: RepositoryScope, subjects: string[], limit = 1000): Promise<SbomRow[]> {
    if (subjects.length === 0) return [];
    const { rows } = await this.db.pool.query<SbomRow>(
      `SELECT id, "artifactDigest", "subjectDigest", format, "specVersion", name, "packageCount", "parseError" FROM (
       SELECT b.id::float8 AS id, b.artifact_digest AS "artifactDigest", b.subject_digest AS "subjectDigest", b.format,
              b.spec_version AS "specVersion", b.name, b.package_count AS "packageCount", b.parse_error AS "parseError"
              , b.subject_digest AS sd, b.parse_error AS pe, b.artifact_digest AS ad,
              row_number() OVER (PARTITION BY b.subject_digest ORDER BY b.parse_error NULLS FIRST, b.artifact_digest, b.id) AS n
       FROM sbom b WHERE b.subject_digest = ANY($1) AND ${linkedInScope('b.artifact_digest', 'b.subject_digest', 2)}) x
       WHERE n <= $3
       ORDER BY sd, pe NULLS FIRST, ad, id`,
      [subjects, scopeParam(scope), limit],
    );
    return rows;
  }

  /** Readable SBOMs per subject, visible where linked (linkedInScope). */
  async countSboms(scope: RepositoryScope, subjects: string[]): Promise<Map<string, number>> {
    if (subjects.length === 0) return new Map();
    const { rows } = await this.db.pool.query<{ subject_digest: string; sboms: number }>(
      sbomCounts('$1', 2),
      [subjects, scopeParam(scope)],
    );
    return new Map(rows.map((r) => [r.subject_digest, r.sboms]));
  }

  /**
   * Readable SBOMs per subject for several groups, each under its own scope, in one statement: at
   * most `limit` per subject, those that can count first (sbomRank), unsigned before signed.
   */
  async findPolicySbomsByScope(
    groups: ScopedDigests[],
    opts: { limit?: number; trustVersion?: string } = {},
  ): Promise<PolicySbomRow[][]> {
    if (!groups.some((g) => g.digests.length > 0)) return groups.map(() => []);
    const { rows } = await this.db.pool.query<PolicySbomRow & { g: number; n?: unknown }>(
      perGroup(policySbomRows('q.digests', 'q.scope', '$5'), 'x.n <= $4', 'x."subjectDigest", x.n'),
      [...groupParams(groups), opts.limit ?? 100, opts.trustVersion ?? null],
    );
    return byGroup(groups, rows);
  }

  /**
   * Packages of SBOMs, each SBOM paged on its own by package id: by SBOM ids, or every visible
   * SBOM of one subject.
   */
  async findSbomPackages(
    scope: RepositoryScope,
    of: { sbomIds: number[] } | { subject: string },
    opts: { query?: string; after?: number; limit: number },
  ): Promise<Array<PackageRow & { id: number; sbomId: number }>> {
    const bySubject = 'subject' in of;
    if (!bySubject && of.sbomIds.length === 0) return [];
    const { rows } = await this.db.pool.query<PackageRow & { id: number; sbomId: number }>(
      `SELECT id, "sbomId", name, version, purl, licenses FROM (
         SELECT p.id::float8 AS id, p.sbom_id::float8 AS "sbomId", p.name, p.version, p.purl, COALESCE(p.licenses, '{}') AS licenses,
                row_number() OVER (PARTITION BY ${bySubject ? '1' : 'p.sbom_id'} ORDER BY p.id) AS n
         FROM sbom_package p JOIN sbom b ON b.id = p.sbom_id
         WHERE ${bySubject ? 'b.subject_digest = $1::text' : 'p.sbom_id = ANY($1::bigint[])'} AND p.id > $2
           AND ($3::text IS NULL OR p.name ILIKE '%' || $3 || '%' OR p.purl ILIKE '%' || $3 || '%')
           AND ${linkedInScope('b.artifact_digest', 'b.subject_digest', 5)}
       ) x WHERE n <= $4 ORDER BY "sbomId", id`,
      [
        bySubject ? of.subject : of.sbomIds,
        opts.after ?? 0,
        opts.query ?? null,
        opts.limit,
        scopeParam(scope),
      ],
    );
    return rows;
  }

  /**
   * Artifacts whose SBOM lists the package: `purl` equal to `base` (no version) matches any
   * version; with a version and no qualifiers, that version with any qualifiers or subpath
   * (`…@1.2` finds `…@1.2?arch=amd64`); with qualifiers, exactly that purl. Both canonical. The
   * SBOM and the artifact it describes must both be visible.
   */
  async findArtifactsByPurl(
    scope: RepositoryScope,
    search: { purl: string; base: string },
    limit: number,
  ): Promise<Array<{ digest: string; purl: string; name: string; version: string | null }>> {
    const { rows } = await this.db.pool.query(
      `SELECT DISTINCT b.subject_digest AS digest, p.purl, p.name, p.version
       FROM sbom_package p JOIN sbom b ON b.id = p.sbom_id
       WHERE p.purl_base = $4
         AND ($1 = $4 OR p.purl = $1 OR starts_with(p.purl, $1 || '?') OR starts_with(p.purl, $1 || '#'))
         AND ${linkedInScope('b.artifact_digest', 'b.subject_digest', 2)} AND ${presentInScope('b.subject_digest', 2)}
       ORDER BY 1, 2 LIMIT $3`,
      [search.purl, scopeParam(scope), limit, search.base],
    );
    return rows as Array<{ digest: string; purl: string; name: string; version: string | null }>;
  }
}
