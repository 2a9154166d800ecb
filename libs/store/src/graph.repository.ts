import type pg from 'pg';
import type { Database } from './database.js';
import {
  byteChunks,
  compareKeys,
  disjointRounds,
  pushOutcomes,
  pushValues,
  PUSHES_SQL,
  type ManifestContent,
  type PushInput,
  type PushOutcome,
  type PushRows,
  type WriteOutcome,
} from './graph-push.js';

export {
  GRAPH_CHANNEL,
  STALE_NOTE,
  type EventMark,
  type ManifestContent,
  type PushInput,
  type PushOutcome,
  type VerifyJobs,
  type WriteOutcome,
} from './graph-push.js';

/**
 * Writes to the graph. Every write is atomic (one statement, or one transaction), and every row
 * that events fight over (presence, tag) is last-writer-wins by the sender's event time, so any
 * order or duplication of the same events converges on the same graph.
 */
export class GraphRepository {
  constructor(private readonly db: Database) {}

  /**
   * Stores the manifest, marks it present, adds the edges its content implies and, with a tag,
   * moves the tag and replaces the tag's edges. Also marks `input.event` done and queues
   * `input.verify` jobs when given, in the same statement.
   */
  async applyPush(input: PushInput): Promise<PushOutcome> {
    const [outcome] = await this.applyPushes([input]);
    return outcome!;
  }

  /**
   * `applyPush` for many pushes at once, in as few statements as their locations and tags allow
   * (one when no two share either). Each push is atomic on its own; all of one statement commit
   * together. Outcomes are in input order.
   */
  async applyPushes(inputs: PushInput[]): Promise<PushOutcome[]> {
    const outcomes: PushOutcome[] = new Array<PushOutcome>(inputs.length);
    for (const round of disjointRounds(inputs)) {
      // Locations are then locked in key order whichever order the pushes came in, so concurrent
      // statements over the same locations wait for each other rather than deadlock.
      round.sort((a, b) => compareKeys(inputs[a]!, inputs[b]!));
      for (const chunk of byteChunks(round, inputs)) {
        const res = await this.pushRound(chunk.map((i) => inputs[i]!));
        chunk.forEach((i, k) => (outcomes[i] = res[k]!));
      }
    }
    return outcomes;
  }

  private async pushRound(inputs: PushInput[]): Promise<PushOutcome[]> {
    const { rows } = await this.db.pool.query<PushRows>({
      name: 'refgraph-apply-pushes',
      text: PUSHES_SQL,
      values: pushValues(inputs),
    });
    return pushOutcomes(inputs.length, rows[0]!);
  }

  /**
   * A manifest deleted from a repository: its presence and the edges it sourced go, unless a newer
   * push made it present again; the tags that named it go if they were set before the delete,
   * whatever the order the events arrive in. The deletion time is kept for tag pushes that arrive
   * later (graph-push.ts).
   */
  async applyDelete(
    repositoryId: number,
    digest: string,
    eventAt: Date,
    client?: pg.ClientBase,
  ): Promise<WriteOutcome> {
    return this.within(client, async (c) => {
      const location = await c.query<{ applied: boolean }>(
        `INSERT INTO artifact_location (repository_id, digest, present, event_at, deleted_at)
         VALUES ($1, $2, false, $3, $3)
         ON CONFLICT (repository_id, digest) DO UPDATE
           SET present = artifact_location.present AND artifact_location.event_at > EXCLUDED.event_at,
               event_at = GREATEST(artifact_location.event_at, EXCLUDED.event_at),
               deleted_at = GREATEST(artifact_location.deleted_at, EXCLUDED.deleted_at),
               updated_at = now()
         RETURNING NOT present AND event_at = $3 AS applied`,
        [repositoryId, digest, eventAt],
      );
      const applied = location.rows[0]!.applied;
      let edgesRemoved = 0;
      if (applied) {
        const content = await c.query(
          `DELETE FROM edge WHERE repository_id = $1 AND source_digest = $2 AND via_tag = ''`,
          [repositoryId, digest],
        );
        edgesRemoved += content.rowCount ?? 0;
      }
      // The tag keeps the time of its own event: a re-tag newer than that but older than this
      // delete, arriving later, must still win (it names another manifest).
      const untagged = await c.query<{ name: string }>(
        `UPDATE tag SET digest = NULL, updated_at = now()
         WHERE repository_id = $1 AND digest = $2 AND event_at <= $3
         RETURNING name`,
        [repositoryId, digest, eventAt],
      );
      for (const { name } of untagged.rows) edgesRemoved += await deleteTagEdges(c, repositoryId, name);
      return { applied: applied || untagged.rows.length > 0, edgesAdded: 0, edgesRemoved };
    });
  }

  async applyTagDelete(
    repositoryId: number,
    tag: string,
    eventAt: Date,
    client?: pg.ClientBase,
  ): Promise<WriteOutcome> {
    return this.within(client, async (c) => {
      const applied = await setTag(c, repositoryId, tag, null, eventAt);
      if (!applied) return { applied: false, edgesAdded: 0, edgesRemoved: 0 };
      return { applied: true, edgesAdded: 0, edgesRemoved: await deleteTagEdges(c, repositoryId, tag) };
    });
  }

  /**
   * Links blobs to a repository, as the push of a manifest naming them does (add-only, like a
   * registry's own links): the registry view's pull-through records what it served before
   * ingestion, so that every api replica serves those blobs. Key order, as every statement that
   * writes this table, so it never deadlocks with a concurrent push.
   */
  async linkBlobs(repositoryId: number, digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return;
    await this.db.pool.query({
      name: 'refgraph-link-blobs',
      text: `INSERT INTO repository_blob (repository_id, blob_digest)
             SELECT $1::bigint, d FROM unnest($2::text[]) AS d ORDER BY 2
             ON CONFLICT DO NOTHING`,
      values: [repositoryId, [...new Set(digests)]],
    });
  }

  /** The stored manifest bytes of a digest: content is immutable, so a known digest is never refetched. */
  async findManifest(digest: string): Promise<ManifestContent | null> {
    const { rows } = await this.db.pool.query<{ manifest: Buffer; media_type: string }>(
      'SELECT manifest, media_type FROM artifact WHERE digest = $1',
      [digest],
    );
    const row = rows[0];
    return row ? { bytes: row.manifest, mediaType: row.media_type } : null;
  }

  /** `findManifest` for many digests in one statement; digests not stored are absent from the map. */
  async findManifests(digests: readonly string[]): Promise<Map<string, ManifestContent>> {
    const found = new Map<string, ManifestContent>();
    if (digests.length === 0) return found;
    const { rows } = await this.db.pool.query<{ digest: string; manifest: Buffer; media_type: string }>(
      'SELECT digest, manifest, media_type FROM artifact WHERE digest = ANY($1::text[])',
      [digests],
    );
    for (const r of rows) found.set(r.digest, { bytes: r.manifest, mediaType: r.media_type });
    return found;
  }

  /** Runs `fn` in one transaction, for writes that must commit together. */
  transaction<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Runs `fn` in the caller's transaction when given one, else in a transaction of its own. */
  private within<T>(client: pg.ClientBase | undefined, fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    return client ? fn(client) : this.db.transaction(fn);
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
