import {
  blobDigests,
  contentEdges,
  tagEdges,
  type ArtifactKind,
  type ExtractedEdge,
  type ParsedManifest,
} from '#oci';
import { addJobsSql, verifyJobSpecSql } from './jobs/jobs.js';

// The batched push: its inputs and outcomes, the one statement that writes many pushes, and how
// pushes are split into statements. GraphRepository.applyPushes runs it.

/** LISTEN on this channel for graph changes: {type: 'referrer_added' | 'verification_changed', ...}. */
export const GRAPH_CHANNEL = 'refgraph_graph';

export interface PushInput {
  repositoryId: number;
  manifest: ParsedManifest;
  kind: ArtifactKind;
  bytes: Buffer;
  tag?: string;
  eventAt: Date;
  /** The webhook event this push comes from: marked done by the same statement, if still pending. */
  event?: EventMark;
  /** Queues verification of the trust artifacts this push stores or newly links to a subject. */
  verify?: VerifyJobs;
}

/** Manifest bytes as stored, with the media type they were served with. */
export interface ManifestContent {
  bytes: Buffer;
  mediaType: string;
}

export interface EventMark {
  id: number;
  /** The attempt that processed it, recorded on the event. */
  attempts: number;
}

/** The verification task, the artifact kinds it applies to and its jobs' priority. */
export interface VerifyJobs {
  task: string;
  kinds: readonly string[];
  priority: number;
}

export interface WriteOutcome {
  /** false when a newer event about the same row already won (the event was stale). */
  applied: boolean;
  edgesAdded: number;
  edgesRemoved: number;
}

export interface PushOutcome extends WriteOutcome {
  /** With `event`: false when the event was no longer pending (another run finished it). */
  eventFinished: boolean;
}

/** The note an event gets when a newer event about the same row had already been applied. */
export const STALE_NOTE = 'stale: a newer event already applied';

const EDGE_COLUMNS = 'repository_id, subject_digest, referrer_digest, kind, source_digest, via_tag';

/**
 * Many pushes in one statement: one round trip and one commit for all of them. Each push is
 * atomic all the same (a statement is), and no two pushes of one statement may share a location
 * (repository, digest) or a tag (repository, name): `applyPushes` splits the input so they do
 * not. Every data-modifying CTE sees the snapshot taken before the statement, which is why a
 * tag's edges are replaced by deleting only those its new manifest does not imply (deleting and
 * inserting one row in a single statement would leave it deleted), and why the link check in
 * `targets` sees the edges as they were before.
 *
 * Every push links the blobs its manifest names into its repository (`linked`), stale or not: a
 * registry links a blob when it is uploaded, and keeps the link after the manifest goes.
 *
 * Verification is queued for the trust artifacts pushed (when the push applies) and for those
 * linked to a subject they had no edge to in that repository before; other new edges (the same
 * link from another source) change nothing verification depends on.
 */
export const PUSHES_SQL = `
WITH items AS (
  -- The manifests arrive as one binary parameter ($32), each at its offset ($10) for its length ($33).
  SELECT idx, repository_id, digest, media_type, artifact_type, kind, size, subject_digest, annotations,
         substring($32::bytea FROM manifest_at FOR manifest_length) AS manifest,
         event_at, tag, event_id, attempts, verify
  FROM unnest($1::int[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
              $8::text[], $9::jsonb[], $10::int[], $11::timestamptz[], $12::text[], $13::bigint[],
              $14::int[], $15::boolean[], $33::int[])
    AS i(idx, repository_id, digest, media_type, artifact_type, kind, size, subject_digest, annotations,
         manifest_at, event_at, tag, event_id, attempts, verify, manifest_length)
), art AS (
  INSERT INTO artifact (digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest)
  SELECT DISTINCT ON (digest) digest, media_type, artifact_type, kind, size, subject_digest, annotations, manifest
  FROM items ORDER BY digest
  ON CONFLICT (digest) DO NOTHING
), loc AS (
  -- Every location row is updated, stale or not, so that it is locked and read as last committed:
  -- a concurrent delete of the same location commits first or waits, and deleted_at is current.
  INSERT INTO artifact_location (repository_id, digest, present, event_at)
  SELECT repository_id, digest, true, event_at FROM items
  ON CONFLICT (repository_id, digest) DO UPDATE
    SET present = artifact_location.present OR artifact_location.event_at <= EXCLUDED.event_at,
        event_at = GREATEST(artifact_location.event_at, EXCLUDED.event_at),
        updated_at = CASE WHEN artifact_location.event_at <= EXCLUDED.event_at THEN now()
                          ELSE artifact_location.updated_at END
  RETURNING repository_id, digest, present, event_at, deleted_at
), linked AS (
  -- Key order, as every statement that writes this table, so concurrent pushes never deadlock.
  INSERT INTO repository_blob (repository_id, blob_digest)
  SELECT DISTINCT i.repository_id, b.digest
  FROM unnest($30::int[], $31::text[]) AS b(idx, digest) JOIN items i ON i.idx = b.idx
  ORDER BY 1, 2
  ON CONFLICT DO NOTHING
), located AS (
  SELECT i.*, l.present AND l.event_at = i.event_at AS applies, l.deleted_at > i.event_at AS deleted_since
  FROM items i JOIN loc l ON l.repository_id = i.repository_id AND l.digest = i.digest
), applied AS (
  SELECT * FROM located WHERE applies
), content_added AS (
  INSERT INTO edge (${EDGE_COLUMNS}, descriptor)
  SELECT a.repository_id, e.s, e.r, e.k, a.digest, '', e.d
  FROM unnest($16::int[], $17::text[], $18::text[], $19::text[], $20::jsonb[]) AS e(idx, s, r, k, d)
  JOIN applied a ON a.idx = e.idx
  ON CONFLICT (${EDGE_COLUMNS}) DO NOTHING
  RETURNING repository_id, subject_digest, referrer_digest, kind, source_digest
), tagged AS (
  -- A tag is last-writer-wins by its own events, whether or not this push is the newest of its
  -- manifest (two tags pushed for one manifest must both land, in either order); it names the
  -- manifest only if no delete of the manifest came since.
  INSERT INTO tag (repository_id, name, digest, event_at)
  SELECT repository_id, tag, CASE WHEN deleted_since THEN NULL ELSE digest END, event_at
  FROM located WHERE tag IS NOT NULL
  ON CONFLICT (repository_id, name) DO UPDATE
    SET digest = EXCLUDED.digest, event_at = EXCLUDED.event_at, updated_at = now()
    WHERE tag.event_at <= EXCLUDED.event_at
  RETURNING repository_id, name, digest
), retagged AS (
  SELECT a.*, t.digest IS NULL AS dropped
  FROM located a JOIN tagged t ON t.repository_id = a.repository_id AND t.name = a.tag
), tag_edges AS (
  SELECT * FROM unnest($21::int[], $22::text[], $23::text[], $24::text[], $25::jsonb[]) AS e(idx, s, r, k, d)
), tag_removed AS (
  DELETE FROM edge x USING retagged a
  WHERE x.repository_id = a.repository_id AND x.via_tag = a.tag
    AND (a.dropped OR NOT (x.source_digest = a.digest AND EXISTS (
      SELECT 1 FROM tag_edges t
      WHERE t.idx = a.idx AND t.s = x.subject_digest AND t.r = x.referrer_digest AND t.k = x.kind)))
  RETURNING a.idx
), tag_added AS (
  INSERT INTO edge (${EDGE_COLUMNS}, descriptor)
  SELECT a.repository_id, t.s, t.r, t.k, a.digest, a.tag, t.d
  FROM tag_edges t JOIN retagged a ON a.idx = t.idx AND NOT a.dropped
  ON CONFLICT (${EDGE_COLUMNS}) DO NOTHING
  RETURNING repository_id, subject_digest, referrer_digest, kind, source_digest
), added AS (
  SELECT * FROM content_added UNION ALL SELECT * FROM tag_added
), written AS (
  -- A push took effect if it made its manifest present or moved its tag.
  SELECT idx FROM applied UNION SELECT idx FROM retagged
), finished AS (
  UPDATE webhook_event w
  SET status = 'done', attempts = i.attempts, processed_at = now(),
      last_error = CASE WHEN EXISTS (SELECT 1 FROM written a WHERE a.idx = i.idx) THEN NULL ELSE $28::text END
  FROM items i
  WHERE w.id = i.event_id AND w.status = 'pending'
  RETURNING i.idx
), targets AS (
  SELECT digest FROM applied WHERE verify AND kind = ANY($26::text[])
  UNION
  SELECT a.referrer_digest
  FROM added a
  JOIN items i ON i.repository_id = a.repository_id AND i.digest = a.source_digest
  JOIN artifact t ON t.digest = a.referrer_digest
  WHERE i.verify AND a.kind <> 'index-child' AND t.kind = ANY($26::text[])
    AND NOT EXISTS (
      SELECT 1 FROM edge e
      WHERE e.repository_id = a.repository_id AND e.referrer_digest = a.referrer_digest
        AND e.subject_digest = a.subject_digest AND e.kind <> 'index-child')
), jobs AS MATERIALIZED (
  SELECT ARRAY(SELECT ${verifyJobSpecSql('$27', 'digest', '$29')}
               FROM targets) AS specs
)
SELECT
  ARRAY(SELECT idx FROM written) AS applied,
  ARRAY(SELECT idx FROM finished) AS finished,
  ARRAY(SELECT i.idx FROM added a JOIN items i ON i.repository_id = a.repository_id AND i.digest = a.source_digest)
    AS added,
  ARRAY(SELECT idx FROM tag_removed) AS removed,
  -- Delivered on commit, to every instance listening (GraphQL subscriptions).
  (SELECT count(pg_notify('${GRAPH_CHANNEL}', json_build_object('type', 'referrer_added',
            'repositoryId', repository_id, 'subject', subject_digest, 'referrer', referrer_digest,
            'kind', kind)::text))
   FROM added WHERE kind <> 'index-child')::int AS notified,
  -- One add_jobs call (one notification) for all of them, and none without any.
  (SELECT count(*) FROM jobs CROSS JOIN LATERAL ${addJobsSql('jobs.specs')}
   WHERE cardinality(jobs.specs) > 0)::int AS queued`;

/**
 * The statement's parameters for `inputs`: per-push columns, then their edges, then the job spec,
 * then the manifests' bytes. Those travel as one binary parameter, not as a bytea[] (which the
 * client writes and the server reads as hex text, each byte twice and escaped).
 */
export function pushValues(inputs: PushInput[]): unknown[] {
  const content: Array<[number, ExtractedEdge]> = [];
  const tagged: Array<[number, ExtractedEdge]> = [];
  inputs.forEach((p, idx) => {
    for (const e of contentEdges(p.manifest)) content.push([idx, e]);
    if (p.tag) for (const e of tagEdges(p.tag, p.manifest)) tagged.push([idx, e]);
  });
  // The verification task and kinds are the same for every push that asks for verification.
  const verify = inputs.find((p) => p.verify)?.verify;
  const blobs = inputs.flatMap((p, idx) => blobDigests(p.manifest).map((d): [number, string] => [idx, d]));
  const col = <T>(f: (p: PushInput) => T) => inputs.map(f);
  // 1-based, as substring counts.
  let at = 1;
  const offsets = inputs.map((p) => {
    const start = at;
    at += p.bytes.length;
    return start;
  });
  return [
    inputs.map((_, idx) => idx),
    col((p) => p.repositoryId),
    col((p) => p.manifest.digest),
    col((p) => p.manifest.mediaType),
    col((p) => p.manifest.artifactType),
    col((p) => p.kind),
    col((p) => p.manifest.size),
    col((p) => p.manifest.subject?.digest ?? null),
    col((p) => JSON.stringify(p.manifest.annotations)),
    offsets,
    col((p) => p.eventAt),
    col((p) => p.tag || null),
    col((p) => p.event?.id ?? null),
    col((p) => p.event?.attempts ?? null),
    col((p) => p.verify !== undefined),
    ...edgeColumns(content),
    ...edgeColumns(tagged),
    verify?.kinds ?? null,
    verify?.task ?? null,
    STALE_NOTE,
    verify?.priority ?? null,
    blobs.map(([idx]) => idx),
    blobs.map(([, d]) => d),
    Buffer.concat(inputs.map((p) => p.bytes)),
    inputs.map((p) => p.bytes.length),
  ];
}

/** What the statement reports: positions of the pushes applied and finished, one per edge added or removed. */
export interface PushRows {
  applied: number[];
  finished: number[];
  added: number[];
  removed: number[];
}

export function pushOutcomes(n: number, r: PushRows): PushOutcome[] {
  const count = (list: number[]) => {
    const out = new Array<number>(n).fill(0);
    for (const idx of list) out[idx]!++;
    return out;
  };
  const applied = new Set(r.applied);
  const finished = new Set(r.finished);
  const added = count(r.added);
  const removed = count(r.removed);
  return Array.from({ length: n }, (_, idx) => ({
    applied: applied.has(idx),
    edgesAdded: added[idx]!,
    edgesRemoved: removed[idx]!,
    eventFinished: finished.has(idx),
  }));
}

/** Edges of many pushes as the parallel arrays the statement unnests: push, subject, referrer, kind, descriptor. */
function edgeColumns(
  edges: Array<[number, ExtractedEdge]>,
): [number[], string[], string[], string[], Array<string | null>] {
  return [
    edges.map(([idx]) => idx),
    edges.map(([, e]) => e.subject),
    edges.map(([, e]) => e.referrer),
    edges.map(([, e]) => e.kind),
    edges.map(([, e]) => (e.descriptor ? JSON.stringify(e.descriptor) : null)),
  ];
}

/** Manifest bytes per statement (one parameter); a larger manifest goes alone. */
const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

export function byteChunks(positions: number[], inputs: PushInput[]): number[][] {
  const chunks: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const i of positions) {
    const size = inputs[i]!.bytes.length;
    if (current.length > 0 && bytes + size > MAX_STATEMENT_BYTES) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export function compareKeys(a: PushInput, b: PushInput): number {
  if (a.repositoryId !== b.repositoryId) return a.repositoryId - b.repositoryId;
  return a.manifest.digest < b.manifest.digest ? -1 : a.manifest.digest > b.manifest.digest ? 1 : 0;
}

/**
 * Splits pushes into rounds (lists of input positions, in input order) in which no two share a
 * location or a tag. A push goes into the round after the last one holding either of its keys,
 * so pushes sharing a key keep their input order.
 */
export function disjointRounds(inputs: PushInput[]): number[][] {
  const rounds: number[][] = [];
  const lastRound = new Map<string, number>();
  inputs.forEach((p, i) => {
    const keys = [`l ${p.repositoryId} ${p.manifest.digest}`];
    if (p.tag) keys.push(`t ${p.repositoryId} ${p.tag}`);
    const r = Math.max(-1, ...keys.map((k) => lastRound.get(k) ?? -1)) + 1;
    (rounds[r] ??= []).push(i);
    for (const k of keys) lastRound.set(k, r);
  });
  return rounds;
}
