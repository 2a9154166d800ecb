import type pg from 'pg';
import type { Database } from './database.js';
import { GRAPH_CHANNEL, type VerifyJobs } from './graph.repository.js';
import { addVerifyJobSql, VERIFY_PRIORITY, VERIFY_TASK } from './jobs/jobs.js';
import { upsertVulnerabilityDocument, type VulnerabilityDocumentRecord } from './vulnerability-writes.js';

/** Artifact kinds whose content is verified or parsed after ingest. */
const TRUST_KINDS = ['signature', 'attestation', 'sbom', 'vulnerability'];

export type SignatureStatus = 'verified' | 'failed' | 'no_authority' | 'pending';

/**
 * `signature`: a signature over the subject (cosign simplesigning, message-signature bundles,
 * notation, DSSE with the cosign sign predicate). `attestation`: a DSSE envelope carrying any other
 * in-toto statement. Only the first meets a signature requirement.
 */
export type SignatureKind = 'signature' | 'attestation';

/**
 * One verification outcome per (artifact, layer, subject, repository): `repositoryId` is a
 * repository in which an edge links the subject to the artifact, and its trust rule decided the
 * outcome (`no_authority` when no rule covers it).
 */
export interface SignatureRecord {
  artifactDigest: string;
  layerDigest: string;
  subjectDigest: string;
  repositoryId: number;
  kind: SignatureKind;
  format: string;
  status: SignatureStatus;
  reason: string | null;
  message: string | null;
  identity?: string | null;
  issuer?: string | null;
  keyId?: string | null;
  authority?: string | null;
  tlogIndex?: string | null;
  integratedTime?: string | null;
  policyVersion: string;
}

export interface AttestationRecord {
  artifactDigest: string;
  layerDigest: string;
  subjectDigest: string;
  predicateType: string;
  statement: unknown;
  builderId?: string | null;
  buildType?: string | null;
  sourceRepo?: string | null;
  sourceRevision?: string | null;
  vulnCounts?: Record<string, number> | null;
  parseError?: string | null;
  /** Came out of a signature envelope (see the column's comment). */
  signed?: boolean;
}

export interface SbomRecord {
  artifactDigest: string;
  layerDigest: string;
  subjectDigest: string;
  format: string;
  specVersion: string | null;
  name: string | null;
  parseError: string | null;
  /** Came out of a signature envelope (see the column's comment). */
  signed?: boolean;
  packages: {
    name: string;
    version: string | null;
    purl: string | null;
    purlBase: string | null;
    licenses: string[];
  }[];
}

export interface TrustArtifact {
  digest: string;
  kind: string;
  mediaType: string;
  manifest: Buffer;
}

export interface ReferrerSubject {
  subjectDigest: string;
  repositoryId: number;
  registry: string;
  repository: string;
}

export interface ArtifactPlace {
  registryId: number;
  repository: string;
}

/**
 * Verification results keyed by (artifact, layer, subject, repository); attestations and SBOMs
 * keyed by (artifact, layer, subject).
 */
export class TrustRepository {
  /** For graph writes that queue verification themselves (`PushInput.verify`). */
  readonly verifyJobs: VerifyJobs = { task: VERIFY_TASK, kinds: TRUST_KINDS, priority: VERIFY_PRIORITY };

  constructor(private readonly db: Database) {}

  async findArtifact(digest: string): Promise<TrustArtifact | null> {
    const { rows } = await this.db.pool.query<{
      digest: string;
      kind: string;
      media_type: string;
      manifest: Buffer;
    }>('SELECT digest, kind, media_type, manifest FROM artifact WHERE digest = $1', [digest]);
    const r = rows[0];
    return r ? { digest: r.digest, kind: r.kind, mediaType: r.media_type, manifest: r.manifest } : null;
  }

  /**
   * The subjects an artifact refers to (all referrer edge kinds), once per repository in which an
   * edge links them: each such pair gets its own verification rows.
   */
  async findSubjects(digest: string): Promise<ReferrerSubject[]> {
    const { rows } = await this.db.pool.query<{
      subject_digest: string;
      repository_id: string;
      registry: string;
      repository: string;
    }>(
      `SELECT DISTINCT e.subject_digest, e.repository_id, g.name AS registry, r.name AS repository
       FROM edge e JOIN repository r ON r.id = e.repository_id JOIN registry g ON g.id = r.registry_id
       WHERE e.referrer_digest = $1 AND e.kind <> 'index-child'
       ORDER BY 1, 3, 4`,
      [digest],
    );
    return rows.map((r) => ({
      subjectDigest: r.subject_digest,
      repositoryId: Number(r.repository_id),
      registry: r.registry,
      repository: r.repository,
    }));
  }

  /** Repositories the artifact is present in: where its blobs can be fetched from. */
  async findPlaces(digest: string): Promise<ArtifactPlace[]> {
    const { rows } = await this.db.pool.query<{ registry_id: number; name: string }>(
      `SELECT r.registry_id, r.name FROM artifact_location l JOIN repository r ON r.id = l.repository_id
       WHERE l.digest = $1 AND l.present ORDER BY l.updated_at DESC`,
      [digest],
    );
    return rows.map((r) => ({ registryId: r.registry_id, repository: r.name }));
  }

  /**
   * One statement for all rows; a re-verification replaces the previous outcome of the same
   * (artifact, layer, subject, repository) and never touches another repository's.
   */
  async upsertSignatures(rows: SignatureRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const col = <K extends keyof SignatureRecord>(k: K) => rows.map((r) => r[k] ?? null);
    // Listeners (GraphQL subscriptions) hear every new or re-verified outcome once it commits.
    await this.db.pool.query(
      `WITH up AS (
       INSERT INTO signature (artifact_digest, layer_digest, subject_digest, repository_id, kind, format, status,
                              reason, message, identity, issuer, key_id, authority, tlog_index, integrated_time,
                              policy_version, verified_at)
       SELECT a, l, s, rid, kd, f, st, re, m, i, iss, k, au, ti::bigint, it::timestamptz, pv, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
                   $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                   $16::text[])
         AS x(a, l, s, rid, kd, f, st, re, m, i, iss, k, au, ti, it, pv)
       ON CONFLICT (artifact_digest, layer_digest, subject_digest, repository_id) DO UPDATE SET
         kind = EXCLUDED.kind, format = EXCLUDED.format, status = EXCLUDED.status, reason = EXCLUDED.reason,
         message = EXCLUDED.message, identity = EXCLUDED.identity, issuer = EXCLUDED.issuer,
         key_id = EXCLUDED.key_id, authority = EXCLUDED.authority, tlog_index = EXCLUDED.tlog_index,
         integrated_time = EXCLUDED.integrated_time, policy_version = EXCLUDED.policy_version,
         verified_at = EXCLUDED.verified_at
       RETURNING subject_digest, artifact_digest, repository_id, kind, status)
       SELECT count(pg_notify('${GRAPH_CHANNEL}', json_build_object('type', 'verification_changed',
         'subject', subject_digest, 'artifact', artifact_digest, 'repositoryId', repository_id, 'kind', kind,
         'status', status)::text)) FROM up`,
      [
        col('artifactDigest'),
        col('layerDigest'),
        col('subjectDigest'),
        col('repositoryId'),
        col('kind'),
        col('format'),
        col('status'),
        col('reason'),
        col('message'),
        col('identity'),
        col('issuer'),
        col('keyId'),
        col('authority'),
        col('tlogIndex'),
        col('integratedTime'),
        col('policyVersion'),
      ],
    );
  }

  async upsertAttestations(rows: AttestationRecord[]): Promise<void> {
    if (rows.length === 0) return;
    const col = <K extends keyof AttestationRecord>(k: K) => rows.map((r) => r[k] ?? null);
    const json = (k: 'statement' | 'vulnCounts') =>
      rows.map((r) => (r[k] == null ? null : JSON.stringify(r[k])));
    await this.db.pool.query(
      `INSERT INTO attestation (artifact_digest, layer_digest, subject_digest, predicate_type, statement, builder_id,
                                build_type, source_repo, source_revision, vuln_counts, parse_error, signed)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
                            $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::boolean[])
       ON CONFLICT (artifact_digest, layer_digest, subject_digest) DO UPDATE SET
         predicate_type = EXCLUDED.predicate_type, statement = EXCLUDED.statement, builder_id = EXCLUDED.builder_id,
         build_type = EXCLUDED.build_type, source_repo = EXCLUDED.source_repo,
         source_revision = EXCLUDED.source_revision, vuln_counts = EXCLUDED.vuln_counts,
         parse_error = EXCLUDED.parse_error, signed = EXCLUDED.signed`,
      [
        col('artifactDigest'),
        col('layerDigest'),
        col('subjectDigest'),
        col('predicateType'),
        json('statement'),
        col('builderId'),
        col('buildType'),
        col('sourceRepo'),
        col('sourceRevision'),
        json('vulnCounts'),
        col('parseError'),
        rows.map((r) => r.signed ?? false),
      ],
    );
  }

  /** The SBOM row and all its packages in one transaction; packages replace earlier ones in one statement. */
  async upsertSbom(row: SbomRecord): Promise<void> {
    await this.db.transaction(async (c) => {
      const { rows } = await c.query<{ id: number }>(
        `INSERT INTO sbom (artifact_digest, layer_digest, subject_digest, format, spec_version, name, package_count,
                           parse_error, signed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (artifact_digest, layer_digest, subject_digest) DO UPDATE SET
           format = EXCLUDED.format, spec_version = EXCLUDED.spec_version, name = EXCLUDED.name,
           package_count = EXCLUDED.package_count, parse_error = EXCLUDED.parse_error, signed = EXCLUDED.signed
         RETURNING id`,
        [
          row.artifactDigest,
          row.layerDigest,
          row.subjectDigest,
          row.format,
          row.specVersion,
          row.name,
          row.packages.length,
          row.parseError,
          row.signed ?? false,
        ],
      );
      const id = rows[0]!.id;
      await c.query('DELETE FROM sbom_package WHERE sbom_id = $1', [id]);
      await insertPackages(c, id, row.packages);
    });
  }

  /** A vulnerability report or VEX document row with its findings or statements (see vulnerability-writes). */
  upsertVulnerabilityDocument(row: VulnerabilityDocumentRecord): Promise<void> {
    return upsertVulnerabilityDocument(this.db, row);
  }

  /** Jobs for every trust artifact an edge from `source` in this repository refers to (and `source` itself). */
  async enqueueForSource(repositoryId: number, sourceDigest: string): Promise<number> {
    const { rows } = await this.db.pool.query<{ n: number }>(
      // Two index lookups: one OR of both conditions cannot use an index and scans every artifact.
      `WITH targets AS (
         SELECT a.digest FROM artifact a WHERE a.digest = $2 AND a.kind = ANY($3::text[])
         UNION
         SELECT a.digest FROM edge e JOIN artifact a ON a.digest = e.referrer_digest
         WHERE e.repository_id = $1 AND e.source_digest = $2 AND e.kind <> 'index-child'
           AND a.kind = ANY($3::text[])
       )
       SELECT count(${addVerifyJobSql('$4', 'digest', '$5')})::int AS n
       FROM targets`,
      [repositoryId, sourceDigest, TRUST_KINDS, VERIFY_TASK, VERIFY_PRIORITY],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * Jobs for artifacts whose stored results were computed under another policy version (or never
   * finished), at most `limit` per call so a start-up never floods the queue.
   */
  /**
   * Queues verification of up to `limit` artifacts with results under another policy version,
   * after `after` in digest order; `last` is the cursor of the next page (null after the last).
   */
  async enqueueStale(
    policyVersion: string,
    limit: number,
    after = '',
  ): Promise<{ queued: number; last: string | null }> {
    const { rows } = await this.db.pool.query<{ n: number; last: string | null }>(
      `WITH stale AS (
         SELECT DISTINCT artifact_digest AS digest FROM signature
         WHERE policy_version <> $1 AND artifact_digest > $5
         ORDER BY artifact_digest LIMIT $2
       )
       SELECT count(${addVerifyJobSql('$3', 'digest', '$4')})::int AS n, max(digest) AS last
       FROM stale`,
      [policyVersion, limit, VERIFY_TASK, VERIFY_PRIORITY, after],
    );
    const queued = rows[0]?.n ?? 0;
    return { queued, last: queued < limit ? null : (rows[0]?.last ?? null) };
  }
}

async function insertPackages(
  c: pg.ClientBase,
  sbomId: number,
  packages: SbomRecord['packages'],
): Promise<void> {
  if (packages.length === 0) return;
  // text[][] cannot be ragged, so each package's licenses travel as one JSON array.
  await c.query(
    `INSERT INTO sbom_package (sbom_id, name, version, purl, purl_base, licenses)
     SELECT $1, n, v, p, b, ARRAY(SELECT jsonb_array_elements_text(l))
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[]) AS x(n, v, p, b, l)`,
    [
      sbomId,
      packages.map((p) => p.name),
      packages.map((p) => p.version),
      packages.map((p) => p.purl),
      packages.map((p) => p.purlBase),
      packages.map((p) => JSON.stringify(p.licenses)),
    ],
  );
}
