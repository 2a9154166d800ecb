import type { ReadSource } from './read/replicas.js';

/** A stored manifest and whether refgraph records it as present in the asked repository. */
export interface ViewManifest {
  digest: string;
  bytes: Buffer;
  mediaType: string;
  /** true: present; false: deleted from the repository; null: never recorded there. */
  present: boolean | null;
}

/** A tag as refgraph recorded it; digest null is a deleted tag. */
export interface ViewTag {
  digest: string | null;
  /** When refgraph last wrote the record (webhook or reconcile), for the freshness bound. */
  recordedAt: Date;
}

export interface StoredReferrer {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

/** Resolves a repository id from names once per statement (an InitPlan), as the referrers query does. */
const REPOSITORY_ID = `(SELECT r.id FROM repository r JOIN registry g ON g.id = r.registry_id
  WHERE g.name = $1 AND r.name = $2)`;

const MANIFEST_SQL = `
SELECT a.digest, a.manifest, a.media_type, l.present
FROM artifact a
LEFT JOIN artifact_location l ON l.digest = a.digest AND l.repository_id = ${REPOSITORY_ID}
WHERE a.digest = $3`;

const BLOB_SQL = `SELECT 1 FROM repository_blob b WHERE b.repository_id = ${REPOSITORY_ID} AND b.blob_digest = $3`;

const TAG_SQL = `SELECT t.digest, t.updated_at FROM tag t WHERE t.repository_id = ${REPOSITORY_ID} AND t.name = $3`;

// Byte order (COLLATE "C"): the distribution spec lists tags in lexical order, and `last` must
// compare the same way the listing sorts, whatever the database's default collation.
const TAGS_SQL = `
SELECT t.name FROM tag t
WHERE t.repository_id = $1 AND t.digest IS NOT NULL AND t.name COLLATE "C" > $2
  AND NOT EXISTS (SELECT 1 FROM artifact_location l
                  WHERE l.repository_id = t.repository_id AND l.digest = t.digest AND NOT l.present)
ORDER BY t.name COLLATE "C"
LIMIT $3`;

const LEGACY_REFERRERS_SQL = `
SELECT DISTINCT a.digest, a.manifest, a.media_type
FROM edge e
JOIN artifact a ON a.digest = e.referrer_digest
JOIN artifact_location l ON l.repository_id = e.repository_id AND l.digest = a.digest AND l.present
WHERE e.repository_id = ${REPOSITORY_ID}
  AND e.subject_digest = $3
  AND e.kind <> 'index-child'
  AND a.kind = $4
ORDER BY a.digest
LIMIT $5`;

/**
 * The reads of the OCI registry view (/v2/<registry>/<repository>/manifests, tags). Plain pg with
 * named prepared statements: manifest GET and HEAD are the view's hot path. These methods do not
 * decide access; they report presence, and the view's one access function decides.
 */
export class RegistryViewRepository {
  /**
   * `primary`, when reads go to replicas: a link the view itself wrote at pull-through (on any
   * replica of the api) must count before a lagging replica has replayed it.
   */
  constructor(
    private readonly db: ReadSource,
    private readonly primary?: ReadSource,
  ) {}

  /** The stored manifest bytes of a digest with its presence in the repository; null when not stored. */
  async findManifest(registry: string, repository: string, digest: string): Promise<ViewManifest | null> {
    const { rows } = await this.db.pool.query<{
      digest: string;
      manifest: Buffer;
      media_type: string;
      present: boolean | null;
    }>({ name: 'view-find-manifest', text: MANIFEST_SQL, values: [registry, repository, digest] });
    const r = rows[0];
    return r ? { digest: r.digest, bytes: r.manifest, mediaType: r.media_type, present: r.present } : null;
  }

  /**
   * Whether a manifest refgraph recorded in the repository, or one the view pulled through from
   * it, names the blob (config or layer). A miss on a replica is asked of the primary.
   */
  async blobLinked(registry: string, repository: string, digest: string): Promise<boolean> {
    const ask = async (source: ReadSource) => {
      const { rowCount } = await source.pool.query({
        name: 'view-blob-linked',
        text: BLOB_SQL,
        values: [registry, repository, digest],
      });
      return (rowCount ?? 0) > 0;
    };
    if (await ask(this.db)) return true;
    return this.primary !== undefined && this.primary !== this.db && ask(this.primary);
  }

  async findTag(registry: string, repository: string, tag: string): Promise<ViewTag | null> {
    const { rows } = await this.db.pool.query<{ digest: string | null; updated_at: Date }>({
      name: 'view-find-tag',
      text: TAG_SQL,
      values: [registry, repository, tag],
    });
    const r = rows[0];
    return r ? { digest: r.digest, recordedAt: r.updated_at } : null;
  }

  /** One page of live tags in lexical order after `after`; null when the repository is not known. */
  async listTags(
    registry: string,
    repository: string,
    after: string,
    limit: number,
  ): Promise<string[] | null> {
    const { rows: ids } = await this.db.pool.query<{ id: number }>({
      name: 'view-repository-id',
      text: 'SELECT r.id FROM repository r JOIN registry g ON g.id = r.registry_id WHERE g.name = $1 AND r.name = $2',
      values: [registry, repository],
    });
    const id = ids[0]?.id;
    if (id === undefined) return null;
    const { rows } = await this.db.pool.query<{ name: string }>({
      name: 'view-list-tags',
      text: TAGS_SQL,
      values: [id, after, limit],
    });
    return rows.map((r) => r.name);
  }

  /**
   * Stored manifests of a subject's referrers of one kind (signature, attestation, sbom) that are
   * present in the repository, in digest order: the material cosign's legacy tags are built from.
   */
  async findReferrerManifests(
    registry: string,
    repository: string,
    subject: string,
    kind: 'signature' | 'attestation' | 'sbom',
    limit: number,
  ): Promise<StoredReferrer[]> {
    const { rows } = await this.db.pool.query<{ digest: string; manifest: Buffer; media_type: string }>({
      name: 'view-referrer-manifests',
      text: LEGACY_REFERRERS_SQL,
      values: [registry, repository, subject, kind, limit],
    });
    return rows.map((r) => ({ digest: r.digest, bytes: r.manifest, mediaType: r.media_type }));
  }
}
