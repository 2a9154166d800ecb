import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startHungServer, startTufRepository, type TufRepository } from '#testing';
import { CurrentTrust } from '../current-trust.js';
import { STAGING_TRUSTED_ROOT } from '../staging-trusted-root.js';
import { TrustRoot } from '../trust-root.js';
import { TrustRootRefresher, initialTrustPolicy, type RefreshLog } from './refresher.js';
import { TufTrustedRootSource } from './tuf-source.js';

// The real TUF client (@sigstore/tuf, tuf-js) against a TUF repository built here and served on
// loopback. The embedded public-good root is the configured one; the repository serves others.
const config = { trustedRoot: 'public-good', authorities: [], repositories: [] };
const staging = TrustRoot.fromJSON(STAGING_TRUSTED_ROOT, 'staging');

/** The staging root with one more (valid) transparency log: other content, another digest. */
function nextRoot(): object {
  const root = structuredClone(STAGING_TRUSTED_ROOT) as { tlogs: { baseUrl: string }[] };
  root.tlogs.push({ ...root.tlogs[0]!, baseUrl: 'https://rekor-next.example.test' });
  return root;
}

let repo: TufRepository;
let dir: string;
let rootFile: string;

beforeEach(async () => {
  repo = await startTufRepository(STAGING_TRUSTED_ROOT);
  dir = await mkdtemp(path.join(tmpdir(), 'refgraph-tuf-'));
  rootFile = path.join(dir, 'root.json');
  await writeFile(rootFile, repo.initialRoot);
});

afterEach(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

function recordingLog() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const log: RefreshLog = {
    info: (fields, message) =>
      lines.push({ level: 'info', message, fields: fields as Record<string, unknown> }),
    warn: (fields, message) =>
      lines.push({ level: 'warn', message, fields: fields as Record<string, unknown> }),
  };
  return { log, lines };
}

async function service(
  mirrorUrl = repo.url,
  options: { startupTimeoutMs?: number; timeoutMs?: number } = {},
) {
  const source = new TufTrustedRootSource({
    mirrorUrl,
    rootFile,
    cacheDir: path.join(dir, 'cache'),
    timeoutMs: options.timeoutMs ?? 5000,
  });
  const { log, lines } = recordingLog();
  const succeeded: Date[] = [];
  const failed: string[] = [];
  const trust = new CurrentTrust(await initialTrustPolicy(config, source, log));
  const changes: { from: string; to: string }[] = [];
  trust.onChange((next, previous) => changes.push({ from: previous.version, to: next.version }));
  const refresher = new TrustRootRefresher(trust, source, {
    intervalMs: 0,
    startupTimeoutMs: options.startupTimeoutMs ?? 5000,
    log,
    events: { succeeded: (at) => succeeded.push(at), failed: (e) => failed.push(e) },
  });
  return { trust, refresher, lines, succeeded, failed, changes };
}

describe('trusted root refresh over TUF', () => {
  it('a first refresh verifies the repository, puts its root in force and caches it', async () => {
    const s = await service();
    const embedded = s.trust.policy;
    expect(embedded.trustRoot.name).toBe('public-good');

    const outcome = await s.refresher.refresh();
    expect(outcome).toMatchObject({
      status: 'changed',
      digest: staging.digest,
      previousDigest: embedded.trustRoot.digest,
    });
    expect(s.trust.policy.trustRoot.digest).toBe(staging.digest);
    expect(s.changes).toEqual([{ from: embedded.version, to: s.trust.version }]);
    expect(s.succeeded).toHaveLength(1);
    expect(repo.requests).toEqual(
      expect.arrayContaining([
        '/2.root.json',
        '/timestamp.json',
        '/snapshot.json',
        '/targets.json',
        '/targets/trusted_root.json',
      ]),
    );
    expect(s.lines).toContainEqual(
      expect.objectContaining({ level: 'info', message: expect.stringContaining('trusted root changed') }),
    );

    // The same content again: nothing changes.
    await expect(s.refresher.refresh()).resolves.toEqual({ status: 'unchanged', digest: staging.digest });
    expect(s.changes).toHaveLength(1);

    // Another process on the same cache starts with the cached root, even with the mirror down.
    repo.setDown(true);
    const restarted = await service();
    expect(restarted.trust.policy.trustRoot.digest).toBe(staging.digest);
    expect(restarted.trust.version).toBe(s.trust.version);
  });

  it('a root key rotation (root v2 signed by the v1 and v2 keys) with a new trusted root: the new root is used', async () => {
    const s = await service();
    await s.refresher.refresh();
    const before = s.trust.version;

    repo.rotateRootKey();
    const next = nextRoot();
    repo.publish(next);
    const outcome = await s.refresher.refresh();
    const expected = TrustRoot.fromJSON(next);
    expect(outcome).toMatchObject({
      status: 'changed',
      digest: expected.digest,
      previousDigest: staging.digest,
    });
    expect(s.trust.policy.trustRoot.digest).toBe(expected.digest);
    expect(s.trust.policy.trustRoot.material().tlogs.map((t) => t.baseURL)).toContain(
      'https://rekor-next.example.test',
    );
    expect(s.changes.at(-1)).toEqual({ from: before, to: s.trust.version });
    // v2 is trusted from now on: v3, signed by the v2 and v3 keys only, is accepted too.
    repo.rotateRootKey();
    repo.publish(STAGING_TRUSTED_ROOT);
    await expect(s.refresher.refresh()).resolves.toMatchObject({ status: 'changed', digest: staging.digest });
  });

  it('a root not signed by the previous root key is refused, and the root in force stays', async () => {
    const s = await service();
    await s.refresher.refresh();
    repo.rotateRootKey({ unsignedByPrevious: true });
    repo.publish(nextRoot());
    await expect(s.refresher.refresh()).resolves.toMatchObject({ status: 'failed' });
    expect(s.trust.policy.trustRoot.digest).toBe(staging.digest);
    expect(s.failed).toHaveLength(1);
  });

  it('an expired timestamp is refused: the previous root stays, the failure is counted and logged', async () => {
    const s = await service();
    await s.refresher.refresh();
    const version = s.trust.version;

    repo.publish(nextRoot(), { timestampExpires: new Date(Date.now() - 3_600_000) });
    const outcome = await s.refresher.refresh();
    expect(outcome).toMatchObject({ status: 'failed', error: expect.stringMatching(/expired/i) });
    expect(s.trust.version).toBe(version);
    expect(s.trust.policy.trustRoot.digest).toBe(staging.digest);
    expect(s.failed).toHaveLength(1);
    expect(s.succeeded).toHaveLength(1);
    expect(s.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('refresh failed'),
        fields: expect.objectContaining({ error: expect.stringMatching(/expired/i) }),
      }),
    );
    // Nor is the refused root cached for the next start.
    expect((await service()).trust.policy.trustRoot.digest).toBe(staging.digest);
  });

  it('a target that is no valid trusted root is refused like bad metadata', async () => {
    const s = await service();
    const bad = structuredClone(STAGING_TRUSTED_ROOT) as {
      tlogs: { publicKey: { validFor: { start?: string } } }[];
    };
    delete bad.tlogs[0]!.publicKey.validFor.start;
    repo.publish(bad);
    await expect(s.refresher.refresh()).resolves.toMatchObject({
      status: 'failed',
      error: expect.stringContaining('validFor has no start'),
    });
    expect(s.trust.policy.trustRoot.name).toBe('public-good');
    expect(s.failed).toHaveLength(1);
  });

  it('mirror down: the service starts with the embedded root, and the failure is reported', async () => {
    repo.setDown(true);
    const s = await service();
    await expect(s.refresher.start()).resolves.toMatchObject({ status: 'failed' });
    expect(s.trust.policy.trustRoot.name).toBe('public-good');
    expect(s.failed).toHaveLength(1);
    expect(s.changes).toEqual([]);
    await s.refresher.stop();
  });

  it('a mirror that never answers costs start-up no more than the start-up bound', async () => {
    const hung = await startHungServer();
    try {
      const s = await service(hung.url, { startupTimeoutMs: 20, timeoutMs: 300 });
      // Still running when start-up goes on: start() returns nothing, the root in force stays.
      await expect(s.refresher.start()).resolves.toBeUndefined();
      expect(s.trust.policy.trustRoot.name).toBe('public-good');
      expect(s.lines).toContainEqual(
        expect.objectContaining({ level: 'warn', message: expect.stringContaining('still running') }),
      );
      await s.refresher.stop();
      expect(hung.connections).toBeGreaterThan(0);
    } finally {
      await hung.stop();
    }
  });
});
