import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import {
  artifactManifest,
  createTestDatabase,
  deleteManifest,
  descriptorOf,
  pushImage,
  randomImage,
  startRegistry,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import { trivyReport } from './format-documents.js';
import {
  apiTokens,
  eventually,
  graphSnapshot,
  startRecordingForwarder,
  startRefgraph,
  type StartedRefgraph,
} from './harness.js';

/**
 * A delete event is the sender's word that the registry no longer has something; refgraph takes
 * it only when the registry agrees. A delete from a sender without credentials (`webhook.auth:
 * none`), or a replayed one, naming a vulnerability report, an SBOM, an image or a tag the
 * registry still serves removes nothing: the same edges, findings, packages and verdict. A
 * missing scanner report would read as a clean image. Once the registry really deletes it, the
 * same event applies.
 */
const READER = randomBytes(16).toString('hex');
const CVE = 'CVE-2023-5363';
const TRIVY = 'application/vnd.aquasec.trivy.report+json';
const SPDX = 'application/spdx+json';

let tdb: TestDatabase;
let db: pg.Client;
let registry: TestRegistry;
let forwarder: Awaited<ReturnType<typeof startRecordingForwarder>>;
let refgraph: StartedRefgraph;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = new pg.Client({ connectionString: tdb.url });
  await db.connect();
  let url = '';
  forwarder = await startRecordingForwarder(() => url);
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: 'unused',
  });
  refgraph = await startRefgraph(tdb.url, {
    server: { rateLimitPerMinute: 0 },
    registries: [
      { name: 'local', kind: 'distribution', url: registry.url, webhook: { auth: { type: 'none' } } },
    ],
    policies: [{ name: 'has-sbom', sbom: true }],
    auth: { tokens: apiTokens([{ name: 'reader', secret: READER, scopes: ['read:local/**'] }]) },
  });
  url = refgraph.url;
}, 120_000);

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await forwarder?.stop();
  await db?.end();
  await tdb?.drop();
});

interface Seeded {
  repo: string;
  image: PushableContent;
  report: PushableContent;
  sbom: PushableContent;
}

/** Pushes an image tagged v1 with a Trivy report and an SPDX SBOM referring to it; waits until ingested. */
async function seed(repo: string): Promise<Seeded> {
  const image = randomImage();
  const document = (mediaType: string, doc: object) =>
    artifactManifest({
      subject: descriptorOf(image),
      artifactType: mediaType,
      layers: [{ mediaType, bytes: Buffer.from(JSON.stringify(doc)) }],
    });
  const report = document(
    TRIVY,
    trivyReport(`${repo}:v1`, [
      {
        id: CVE,
        pkg: 'libssl3',
        version: '3.0.11-1',
        purl: 'pkg:deb/debian/libssl3@3.0.11-1',
        severity: 'HIGH',
        fixed: '3.0.11-2',
      },
    ]),
  );
  const sbom = document(SPDX, {
    spdxVersion: 'SPDX-2.3',
    name: repo,
    packages: [{ name: 'libssl3', versionInfo: '3.0.11-1', SPDXID: 'SPDXRef-1' }],
  });
  await pushImage(registry.url, repo, 'v1', image);
  await pushImage(registry.url, repo, undefined, report);
  await pushImage(registry.url, repo, undefined, sbom);
  await eventually(async () => {
    const a = await answers(image);
    expect(a.findings).toEqual([CVE]);
    expect(a.packages).toEqual(['libssl3']);
    expect(a.referrers).toEqual([report.digest, sbom.digest].sort());
    expect(await pending()).toBe(0);
  }, 60_000);
  return { repo, image, report, sbom };
}

async function pending(): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT (SELECT count(*) FROM webhook_event WHERE status = 'pending')
          + (SELECT count(*) FROM graphile_worker.jobs) AS n`,
  );
  return Number(rows[0]!.n);
}

const read = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${refgraph.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${READER}`, 'content-type': 'application/json' },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
};

/** Everything a delete could take away: graph rows and the answers read from them. */
async function answers(image: PushableContent, repo?: string) {
  const verdict = async (subject: string) => {
    const v = await read('/api/v1/verdict', {
      method: 'POST',
      body: JSON.stringify({ policy: 'has-sbom', subjects: [subject] }),
    });
    return (v.subjects as Array<{ allowed: boolean; codes: string[] }>).map((s) => [s.allowed, s.codes]);
  };
  const referrers = await read(`/api/v1/artifacts/${image.digest}/referrers`);
  const findings = await read(`/api/v1/artifacts/${image.digest}/vulnerabilities`);
  const affected = await read(`/api/v1/vulnerabilities/${CVE}/artifacts`);
  const packages = await read(`/api/v1/artifacts/${image.digest}/sbom/packages`);
  return {
    graph: await graphSnapshot(tdb.url),
    referrers: (referrers.referrers as Array<{ digest: string }>).map((r) => r.digest).sort(),
    findings: (findings.findings as Array<{ vulnerabilityId: string }>).map((f) => f.vulnerabilityId),
    affected: (affected.artifacts as Array<{ digest: string; affected: boolean }>)
      .filter((a) => a.digest === image.digest)
      .map((a) => a.affected),
    packages: (packages.packages as Array<{ name: string }>).map((p) => p.name),
    ...(repo
      ? {
          byDigest: await verdict(`local/${repo}@${image.digest}`),
          byTag: await verdict(`local/${repo}:v1`),
        }
      : {}),
  };
}

/** A Distribution delete notification, sent by anyone (the sender needs no credentials). */
async function forgeDelete(repository: string, target: { digest: string } | { tag: string }): Promise<void> {
  const res = await fetch(`${refgraph.url}/webhooks/local`, {
    method: 'POST',
    // Distribution 3 sends untag events (a tag, no digest) in its v2 envelope.
    headers: { 'content-type': 'application/vnd.docker.distribution.events.v2+json' },
    body: JSON.stringify({
      events: [
        {
          id: randomBytes(8).toString('hex'),
          timestamp: new Date().toISOString(),
          action: 'delete',
          target: { repository, ...target },
        },
      ],
    }),
  });
  expect(res.status).toBe(202);
}

/** Waits until `n` delete events naming the digest or tag in the repository are processed. */
async function deleteOutcomes(repository: string, reference: string, n: number) {
  return eventually(async () => {
    const { rows } = await db.query<{ status: string; last_error: string | null }>(
      `SELECT status, last_error FROM webhook_event
       WHERE action = 'delete' AND repository = $1 AND (digest = $2 OR tag = $2) AND status <> 'pending'
       ORDER BY id`,
      [repository, reference],
    );
    expect(rows).toHaveLength(n);
    return rows.map((r) => [r.status, r.last_error]);
  }, 60_000);
}

async function unconfirmedDeletes(): Promise<number> {
  const text = await (await fetch(`${refgraph.url}/metrics`)).text();
  const line = /^refgraph_webhook_deletes_unconfirmed_total\{registry="local"\} (\d+)$/m.exec(text);
  return Number(line?.[1] ?? 0);
}

const STILL_SERVED = ['skipped', 'manifest still in the registry'];

describe('a delete event for what the registry still serves', () => {
  it('removes no report, SBOM or image: the same edges, findings, packages and verdict', async () => {
    const s = await seed('fleet/forged');
    const before = await answers(s.image, s.repo);
    expect(before).toMatchObject({
      affected: [true],
      byDigest: [[true, []]],
      byTag: [[true, []]],
    });
    const counted = await unconfirmedDeletes();

    // Without the report the image would read as free of the CVE; without the SBOM, denied.
    for (const m of [s.report, s.sbom]) await forgeDelete(s.repo, { digest: m.digest });
    for (const m of [s.report, s.sbom])
      expect(await deleteOutcomes(s.repo, m.digest, 1)).toEqual([STILL_SERVED]);
    expect(await answers(s.image, s.repo)).toEqual(before);

    await forgeDelete(s.repo, { digest: s.image.digest });
    expect(await deleteOutcomes(s.repo, s.image.digest, 1)).toEqual([STILL_SERVED]);
    expect(await answers(s.image, s.repo)).toEqual(before);
    expect(await unconfirmedDeletes()).toBe(counted + 3);
  });

  it('applies once the registry has deleted the manifest', async () => {
    const s = await seed('fleet/deleted');
    await forgeDelete(s.repo, { digest: s.report.digest });
    expect(await deleteOutcomes(s.repo, s.report.digest, 1)).toEqual([STILL_SERVED]);

    // The registry deletes both (and notifies); the same delete, sent again, now applies as well.
    await deleteManifest(registry.url, s.repo, s.report.digest);
    await deleteManifest(registry.url, s.repo, s.sbom.digest);
    await forgeDelete(s.repo, { digest: s.report.digest });
    const outcomes = await deleteOutcomes(s.repo, s.report.digest, 3);
    expect(outcomes[0]).toEqual(STILL_SERVED);
    expect(outcomes.slice(1).map(([status]) => status)).toEqual(['done', 'done']);
    expect((await deleteOutcomes(s.repo, s.sbom.digest, 1)).map(([status]) => status)).toEqual(['done']);

    const after = await answers(s.image, s.repo);
    expect(after).toMatchObject({
      referrers: [],
      findings: [],
      affected: [],
      packages: [],
      byDigest: [[false, ['no_sbom']]],
    });
    const edges = after.graph.edges as Array<{ repository: string; referrer_digest: string }>;
    expect(edges.filter((e) => e.repository === s.repo)).toEqual([]);
  });
});

describe('a tag delete', () => {
  it('is skipped while the registry still has the tag, and applies once it does not', async () => {
    const s = await seed('fleet/tagged');
    const before = await answers(s.image, s.repo);
    const counted = await unconfirmedDeletes();

    await forgeDelete(s.repo, { tag: 'v1' });
    expect(await deleteOutcomes(s.repo, 'v1', 1)).toEqual([['skipped', 'tag still in the registry']]);
    expect(await answers(s.image, s.repo)).toEqual(before);
    expect(await unconfirmedDeletes()).toBe(counted + 1);

    // Straight from the registry's storage: Distribution 2.8 has no tag delete of its own.
    await rm(join(registry.dir, `data/docker/registry/v2/repositories/${s.repo}/_manifests/tags/v1`), {
      recursive: true,
    });
    await forgeDelete(s.repo, { tag: 'v1' });
    expect((await deleteOutcomes(s.repo, 'v1', 2))[1]).toEqual(['done', null]);
    const after = await answers(s.image, s.repo);
    const tags = after.graph.tags as Array<{ repository: string; name: string; digest: string | null }>;
    expect(tags.filter((t) => t.repository === s.repo)).toEqual([
      expect.objectContaining({ name: 'v1', digest: null }),
    ]);
    expect(after.byTag).toEqual([[false, ['unknown_tag']]]);
    // The image itself is untouched: still present, its report and SBOM still count.
    expect(after).toMatchObject({ findings: [CVE], packages: ['libssl3'], byDigest: [[true, []]] });
  });
});
