import { contentEdges, tagEdges, type ArtifactKind, type ExtractedEdge, type ParsedManifest } from '#oci';
import type pg from 'pg';
import type { Database } from './database.js';

/** LISTEN on this channel for graph changes: {type: 'referrer_added' | 'verification_changed', ...}. */
export const GRAPH_CHANNEL = 'refgraph_graph';

export interface PushInput {
  repositoryId: number;
  manifest: ParsedManifest;
  kind: ArtifactKind;
  bytes: Buffer;
  tag?: string;
  eventAt: Date;
}

export interface WriteOutcome {
  /** false when a newer event about the same row already won (the event was stale). */
  applied: boolean;
  edgesAdded: number;
  edgesRemoved: number;
}

/**
 * Writes to the graph. Every write is one transaction, and every row that events fight over
 * (presence, tag) is last-writer-wins by the sender's event time, so any order or duplication of
 * the same events converges on the same graph.
 */
export class GraphRepository {
  constructor(private readonly db: Database) {}

  async applyPush(input: PushInput): Promise<WriteOutcome> {
    const { repositoryId, manifest: m, eventAt } = input;
    return this.db.transaction(async (c) => {
      await c.query(
        `INSERT INTO artifact (digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (digest) DO NOTHING`,
        [
          m.digest,
          m.mediaType,
          m.artifactType,
          input.kind,
          m.size,
          m.subject?.digest ?? null,
          m.annotations,
          input.bytes,
        ],
      );
      const present = await c.query(
        `INSERT INTO artifact_location (repository_id, digest, present, event_at)
         VALUES ($1, $2, true, $3)
         ON CONFLICT (repository_id, digest) DO UPDATE
           SET present = true, event_at = EXCLUDED.event_at, updated_at = now()
           WHERE artifact_location.event_at <= EXCLUDED.event_at
         RETURNING 1`,
        [repositoryId, m.digest, eventAt],
      );
      // A newer delete of this digest won: the push is stale, and so is any tag it carried.
      if (!present.rowCount) return { applied: false, edgesAdded: 0, edgesRemoved: 0 };

      let edgesAdded = await insertEdges(c, repositoryId, m.digest, '', contentEdges(m));
      let edgesRemoved = 0;
      if (input.tag) {
        const t = await setTag(c, repositoryId, input.tag, m.digest, eventAt);
        if (t) {
          edgesRemoved += await deleteTagEdges(c, repositoryId, input.tag);
          edgesAdded += await insertEdges(c, repositoryId, m.digest, input.tag, tagEdges(input.tag, m));
        }
      }
      return { applied: true, edgesAdded, edgesRemoved };
    });
  }

  /** A manifest deleted from a repository: its presence, the edges it sourced and its tags go. */
  async applyDelete(repositoryId: number, digest: string, eventAt: Date): Promise<WriteOutcome> {
    return this.db.transaction(async (c) => {
      const res = await c.query(
        `INSERT INTO artifact_location (repository_id, digest, present, event_at)
         VALUES ($1, $2, false, $3)
         ON CONFLICT (repository_id, digest) DO UPDATE
           SET present = false, event_at = EXCLUDED.event_at, updated_at = now()
           WHERE artifact_location.event_at <= EXCLUDED.event_at
         RETURNING 1`,
        [repositoryId, digest, eventAt],
      );
      if (!res.rowCount) return { applied: false, edgesAdded: 0, edgesRemoved: 0 };
      const content = await c.query(
        `DELETE FROM edge WHERE repository_id = $1 AND source_digest = $2 AND via_tag = ''`,
        [repositoryId, digest],
      );
      const untagged = await c.query<{ name: string }>(
        `UPDATE tag SET digest = NULL, event_at = $3, updated_at = now()
         WHERE repository_id = $1 AND digest = $2 AND event_at <= $3
         RETURNING name`,
        [repositoryId, digest, eventAt],
      );
      let edgesRemoved = content.rowCount ?? 0;
      for (const { name } of untagged.rows) edgesRemoved += await deleteTagEdges(c, repositoryId, name);
      return { applied: true, edgesAdded: 0, edgesRemoved };
    });
  }

  async applyTagDelete(repositoryId: number, tag: string, eventAt: Date): Promise<WriteOutcome> {
    return this.db.transaction(async (c) => {
      const applied = await setTag(c, repositoryId, tag, null, eventAt);
      if (!applied) return { applied: false, edgesAdded: 0, edgesRemoved: 0 };
      return { applied: true, edgesAdded: 0, edgesRemoved: await deleteTagEdges(c, repositoryId, tag) };
    });
  }

  /** The stored manifest bytes of a digest: content is immutable, so a known digest is never refetched. */
  async findManifest(digest: string): Promise<{ bytes: Buffer; mediaType: string } | null> {
    const { rows } = await this.db.pool.query<{ manifest: Buffer; media_type: string }>(
      'SELECT manifest, media_type FROM artifact WHERE digest = $1',
      [digest],
    );
    const row = rows[0];
    return row ? { bytes: row.manifest, mediaType: row.media_type } : null;
  }
}

async function setTag(
  c: pg.ClientBase,
  repositoryId: number,
  tag: string,
  digest: string | null,
  eventAt: Date,
) {
  const res = await c.query(
    `INSERT INTO tag (repository_id, name, digest, event_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (repository_id, name) DO UPDATE
       SET digest = EXCLUDED.digest, event_at = EXCLUDED.event_at, updated_at = now()
       WHERE tag.event_at <= EXCLUDED.event_at
     RETURNING 1`,
    [repositoryId, tag, digest, eventAt],
  );
  return (res.rowCount ?? 0) > 0;
}

async function deleteTagEdges(c: pg.ClientBase, repositoryId: number, tag: string): Promise<number> {
  const res = await c.query('DELETE FROM edge WHERE repository_id = $1 AND via_tag = $2', [
    repositoryId,
    tag,
  ]);
  return res.rowCount ?? 0;
}

/** One statement for all edges of a source; duplicates are no-ops. */
async function insertEdges(
  c: pg.ClientBase,
  repositoryId: number,
  source: string,
  viaTag: string,
  edges: ExtractedEdge[],
): Promise<number> {
  if (edges.length === 0) return 0;
  const res = await c.query(
    `INSERT INTO edge (repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag, descriptor)
     SELECT $1, s, r, k, $2, $3, d
     FROM unnest($4::text[], $5::text[], $6::text[], $7::jsonb[]) AS e(s, r, k, d)
     ON CONFLICT (repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag) DO NOTHING
     RETURNING subject_digest, referrer_digest, kind`,
    [
      repositoryId,
      source,
      viaTag,
      edges.map((e) => e.subject),
      edges.map((e) => e.referrer),
      edges.map((e) => e.kind),
      edges.map((e) => (e.descriptor ? JSON.stringify(e.descriptor) : null)),
    ],
  );
  const added = (res.rows as Array<{ subject_digest: string; referrer_digest: string; kind: string }>).filter(
    (r) => r.kind !== 'index-child',
  );
  if (added.length > 0) {
    // Delivered on commit, to every instance listening (GraphQL subscriptions).
    await c.query(
      `SELECT pg_notify($1, json_build_object('type', 'referrer_added', 'repositoryId', $2::bigint,
                                              'subject', s, 'referrer', r, 'kind', k)::text)
       FROM unnest($3::text[], $4::text[], $5::text[]) AS x(s, r, k)`,
      [
        GRAPH_CHANNEL,
        repositoryId,
        added.map((r) => r.subject_digest),
        added.map((r) => r.referrer_digest),
        added.map((r) => r.kind),
      ],
    );
  }
  return res.rowCount ?? 0;
}
