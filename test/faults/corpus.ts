import type { IncomingMessage, ServerResponse } from 'node:http';
import { imageManifest, indexManifest, referrerManifest, type BuiltManifest } from '#testing';

/**
 * A large, deterministic Distribution event stream over manifests with real bytes and digests,
 * and the graph it must produce, computed here from the generator's own bookkeeping (not from
 * refgraph's classifier). The real registry cannot be filled with thousands of manifests within
 * a test's time budget, so a loopback stand-in serves these bytes by digest instead.
 */

export interface StreamEvent {
  id: string;
  action: 'push' | 'delete';
  repository: string;
  digest: string;
  tag?: string;
  mediaType?: string;
  at: number;
}

export interface Expected {
  /** `repository subject referrer`, sorted. */
  edges: string[];
  /** `repository digest present`, sorted. */
  locations: string[];
  /** `repository tag digest`, sorted. */
  tags: string[];
}

export interface Corpus {
  events: StreamEvent[];
  manifests: Map<string, BuiltManifest>;
  /**
   * What the registry serves once the stream has happened: every manifest but the deleted ones
   * (a delete older than its push deleted nothing). refgraph asks the registry before it applies a
   * delete, so the stand-in must show the deletes as done.
   */
  served: Map<string, BuiltManifest>;
  expected: Expected;
  /**
   * How the events end against `served`: a push of a manifest deleted since is skipped (not found),
   * as is a delete older than its push (still served); the rest are done.
   */
  outcomes: { done: number; skipped: number };
}

/** A small seeded PRNG (mulberry32), so every run generates the same stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], rnd: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const T0 = Date.parse('2026-01-01T00:00:00Z');

/**
 * `total` events in proportion 40% image pushes (a quarter of them tagged, tags move), 30%
 * referrer pushes, 10% index pushes (two children each), 20% deletes (of referrers, indexes and
 * images; 15% of the deletes are older than the push they follow and must lose).
 */
export function buildCorpus(total: number, seed: number, repos = 10): Corpus {
  const rnd = prng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const manifests = new Map<string, BuiltManifest>();
  const events: StreamEvent[] = [];
  let clock = 0;
  const tick = () => T0 + (clock += 1 + Math.floor(rnd() * 5)) * 1000;
  const repoNames = Array.from({ length: repos }, (_, i) => `team${i}/app`);
  const images = new Map<string, BuiltManifest[]>(repoNames.map((r) => [r, []]));
  const pushed: Array<{
    repository: string;
    m: BuiltManifest;
    at: number;
    kind: 'image' | 'referrer' | 'index';
  }> = [];
  const edges = new Set<string>();
  const edgeSources = new Map<string, string[]>();
  const n = {
    image: Math.round(total * 0.4),
    referrer: Math.round(total * 0.3),
    index: Math.round(total * 0.1),
  };
  const nDelete = total - n.image - n.referrer - n.index;

  const push = (repository: string, m: BuiltManifest, kind: 'image' | 'referrer' | 'index', tag?: string) => {
    manifests.set(m.digest, m);
    const at = tick();
    events.push({
      id: `ev-${seed}-${events.length}`,
      action: 'push',
      repository,
      digest: m.digest,
      tag,
      mediaType: m.mediaType,
      at,
    });
    pushed.push({ repository, m, at, kind });
  };

  for (let i = 0; i < n.image; i++) {
    const repository = repoNames[i % repos]!;
    const m = imageManifest(`s${seed}-img-${i}`);
    images.get(repository)!.push(m);
    push(repository, m, 'image', i % 4 === 0 ? `v${i % 40}` : undefined);
  }
  for (let i = 0; i < n.referrer; i++) {
    const repository = repoNames[i % repos]!;
    const subject = pick(images.get(repository)!);
    const m = referrerManifest(subject.descriptor, 'application/vnd.example.fault+json', { n: String(i) });
    edgeSources.set(`${repository} ${m.digest}`, [`${repository} ${subject.digest} ${m.digest}`]);
    push(repository, m, 'referrer');
  }
  for (let i = 0; i < n.index; i++) {
    const repository = repoNames[i % repos]!;
    const a = pick(images.get(repository)!);
    let b = pick(images.get(repository)!);
    if (b.digest === a.digest) b = images.get(repository)![0]!;
    const m = indexManifest([a.descriptor, b.descriptor], { annotations: { n: String(i) } });
    const children = [...new Set([a.digest, b.digest])];
    edgeSources.set(
      `${repository} ${m.digest}`,
      children.map((c) => `${repository} ${m.digest} ${c}`),
    );
    push(repository, m, 'index');
  }
  // Deletes pick distinct untagged pushes; a stale one carries a time before its push.
  const taggedImages = new Set(events.filter((e) => e.tag).map((e) => `${e.repository} ${e.digest}`));
  const candidates = shuffle(
    pushed.filter((p) => p.kind !== 'image' || !taggedImages.has(`${p.repository} ${p.m.digest}`)),
    rnd,
  ).slice(0, nDelete);
  const lastAt = new Map<string, { at: number; present: boolean }>();
  for (const p of pushed) lastAt.set(`${p.repository} ${p.m.digest}`, { at: p.at, present: true });
  for (const p of candidates) {
    const stale = rnd() < 0.15;
    const at = stale ? p.at - 500 : tick();
    events.push({
      id: `ev-${seed}-${events.length}`,
      action: 'delete',
      repository: p.repository,
      digest: p.m.digest,
      at,
    });
    if (!stale) lastAt.set(`${p.repository} ${p.m.digest}`, { at, present: false });
  }

  for (const [key, state] of lastAt)
    if (state.present) for (const e of edgeSources.get(key) ?? []) edges.add(e);
  // Digests are unique to one repository here, so the stand-in needs no repository to answer.
  const gone = new Set([...lastAt].filter(([, state]) => !state.present).map(([key]) => key.split(' ')[1]!));
  const served = new Map([...manifests].filter(([digest]) => !gone.has(digest)));
  const skipped = events.filter((e) =>
    e.action === 'push' ? gone.has(e.digest) : !gone.has(e.digest),
  ).length;
  const tags = new Map<string, { at: number; digest: string }>();
  for (const e of events) {
    if (!e.tag) continue;
    const key = `${e.repository} ${e.tag}`;
    if ((tags.get(key)?.at ?? -Infinity) < e.at) tags.set(key, { at: e.at, digest: e.digest });
  }
  return {
    events,
    manifests,
    served,
    outcomes: { done: events.length - skipped, skipped },
    expected: {
      edges: [...edges].sort(),
      locations: [...lastAt].map(([k, s]) => `${k} ${s.present}`).sort(),
      tags: [...tags].map(([k, t]) => `${k} ${t.digest}`).sort(),
    },
  };
}

/** Distribution notification envelopes of up to `size` events each. */
export function envelopes(events: StreamEvent[], size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < events.length; i += size) {
    out.push(
      JSON.stringify({
        events: events.slice(i, i + size).map((e) => ({
          id: e.id,
          timestamp: new Date(e.at).toISOString(),
          action: e.action,
          target:
            e.action === 'push'
              ? { mediaType: e.mediaType, digest: e.digest, repository: e.repository, tag: e.tag }
              : { digest: e.digest, repository: e.repository },
        })),
      }),
    );
  }
  return out;
}

export const NOTIFICATION_TYPE = 'application/vnd.docker.distribution.events.v1+json';

/** What the registry shows now for each tag: `repository tag` → digest, from the expected graph. */
export function currentTags(expected: Expected): Map<string, string> {
  return new Map(
    expected.tags.map((t) => {
      const [repository, tag, digest] = t.split(' ');
      return [`${repository} ${tag}`, digest!];
    }),
  );
}

/**
 * The stand-in registry's handler: GET/HEAD /v2/<repo>/manifests/<digest> from `manifests`, and
 * manifests/<tag> as the registry shows the tag now (`tags`), which refgraph confirms before it
 * moves a tag.
 */
export function manifestHandler(
  manifests: Map<string, BuiltManifest>,
  down: () => boolean = () => false,
  tags: Map<string, string> = new Map(),
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (down()) return void res.writeHead(503).end('down');
    const m = /^\/v2\/(.+)\/manifests\/([^/?]+)$/.exec(req.url ?? '');
    const reference = m ? decodeURIComponent(m[2]!) : '';
    const digest = reference.includes(':') ? reference : tags.get(`${m?.[1]} ${reference}`);
    const found = digest ? manifests.get(digest) : undefined;
    if (!found) {
      if (req.url === '/v2/' || req.url === '/v2')
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
    }
    res.writeHead(200, {
      'content-type': found.mediaType,
      'content-length': found.bytes.length,
      'docker-content-digest': found.digest,
    });
    res.end(req.method === 'HEAD' ? undefined : found.bytes);
  };
}

/** The graph as stored, in the same projection as `Expected`. */
export async function storedGraph(
  query: (sql: string) => Promise<Array<Record<string, unknown>>>,
): Promise<Expected & { duplicateEdges: number }> {
  const edges = await query(
    `SELECT r.name || ' ' || e.subject_digest || ' ' || e.referrer_digest AS k
     FROM edge e JOIN repository r ON r.id = e.repository_id ORDER BY 1`,
  );
  const locations = await query(
    `SELECT r.name || ' ' || l.digest || ' ' || l.present AS k
     FROM artifact_location l JOIN repository r ON r.id = l.repository_id ORDER BY 1`,
  );
  const tags = await query(
    `SELECT r.name || ' ' || t.name || ' ' || coalesce(t.digest, '-') AS k
     FROM tag t JOIN repository r ON r.id = t.repository_id ORDER BY 1`,
  );
  const keys = (rows: Array<Record<string, unknown>>) => rows.map((r) => String(r.k)).sort();
  const edgeKeys = keys(edges);
  return {
    edges: [...new Set(edgeKeys)],
    duplicateEdges: edgeKeys.length - new Set(edgeKeys).size,
    locations: keys(locations),
    tags: keys(tags),
  };
}
