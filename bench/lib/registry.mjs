import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './net.mjs';

const REGISTRY_BINARY = '/usr/bin/docker-registry';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';

const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A storage directory that outlives registry processes, so one can be restarted on it. */
export async function registryStorage() {
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-bench-registry-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Debian's Distribution 2.8.2 on a loopback port, with notifications to `notifyUrl` when given
 * (as a real deployment pointed at refgraph would be), access log off.
 */
export async function startRegistryProcess({ storageDir, port, notifyUrl, notifyToken }) {
  port ??= await freePort();
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(storageDir, 'data') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
  };
  if (notifyUrl) {
    config.notifications = {
      endpoints: [
        {
          name: 'refgraph',
          url: notifyUrl,
          headers: { Authorization: [`Bearer ${notifyToken}`] },
          timeout: '2s',
          threshold: 3,
          backoff: '100ms',
          // As the README recommends: refgraph's own manifest fetches would otherwise come back as
          // events. Distribution 2.8 applies `actions` only when `mediatypes` lists something too;
          // blobs (application/octet-stream) are of no use to refgraph either.
          ignore: { mediatypes: ['application/octet-stream'], actions: ['pull'] },
        },
      ],
    };
  }
  const configPath = join(storageDir, `config-${port}.json`);
  // Distribution reads YAML, and JSON is YAML.
  await writeFile(configPath, JSON.stringify(config));
  const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c) => {
    stderr = (stderr + c).slice(-4000);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/v2/`, { timeoutMs: 15_000 });
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${err.message}: ${stderr.trim()}`, { cause: err });
  }
  return {
    url,
    port,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

async function expect(res, statuses, what) {
  if (statuses.includes(res.status)) {
    await res.body?.cancel();
    return res;
  }
  throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

async function pushBlob(url, repo, bytes) {
  const digest = sha256(bytes);
  const head = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.ok) return digest;
  const started = await expect(
    await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' }),
    [202],
    'start upload',
  );
  const put = new URL(started.headers.get('location'), url);
  put.searchParams.set('digest', digest);
  await expect(
    await fetch(put, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes }),
    [201],
    `upload ${digest}`,
  );
  return digest;
}

async function pushManifest(url, repo, reference, bytes, mediaType) {
  await expect(
    await fetch(`${url}/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: bytes,
    }),
    [201],
    `push ${repo}:${reference}`,
  );
}

const REFERRER_TYPES = [
  {
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    layerType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  },
  { artifactType: 'application/spdx+json', layerType: 'application/spdx+json' },
  { artifactType: 'application/vnd.in-toto+json', layerType: 'application/vnd.in-toto+json' },
];

/**
 * Content for the registry baseline: `count` subjects (new image digests), each with three
 * OCI 1.1 referrers (signature bundle, SBOM, provenance) pushed by digest, and the tag-schema
 * index `sha256-<hex>` listing them, the way cosign 3 / oras / @sigstore/oci attach to a
 * registry without the referrers API. Blobs are pushed up front (prepare), manifests timed (push).
 */
export function referrerContent({ count, repositories, seed = 'bench', images = false }) {
  const layers = REFERRER_TYPES.map((t, i) =>
    Buffer.from(JSON.stringify({ type: t.artifactType, payload: `${seed}-${i}`.repeat(40) })),
  );
  const empty = Buffer.from('{}');
  const emptyDesc = {
    mediaType: OCI_EMPTY,
    digest: sha256(empty),
    size: empty.length,
    data: empty.toString('base64'),
  };
  const imageConfig = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  const imageLayer = Buffer.from(`${seed}: the one layer every bench image shares`);
  const subjects = [];
  for (let i = 0; i < count; i++) {
    const repository = repositories[i % repositories.length];
    // With `images`, each subject is a real image manifest pushed under tag v<i>; without, the
    // referrers name a subject the registry does not hold (as when images live elsewhere).
    const image = images
      ? Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: sha256(imageConfig),
              size: imageConfig.length,
            },
            layers: [
              {
                mediaType: 'application/vnd.oci.image.layer.v1.tar',
                digest: sha256(imageLayer),
                size: imageLayer.length,
              },
            ],
            annotations: { 'dev.refgraph.bench': `${seed}:${i}` },
          }),
        )
      : undefined;
    const subject = image
      ? { mediaType: OCI_MANIFEST, digest: sha256(image), size: image.length }
      : { mediaType: OCI_MANIFEST, digest: sha256(`${seed}:subject:${i}`), size: 1403 };
    const referrers = REFERRER_TYPES.map((t, j) => {
      const manifest = {
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: t.artifactType,
        config: emptyDesc,
        layers: [{ mediaType: t.layerType, digest: sha256(layers[j]), size: layers[j].length }],
        subject,
        annotations: {
          'org.opencontainers.image.created': '2026-11-01T10:00:00Z',
          'dev.refgraph.bench': `${i}-${j}`,
        },
      };
      const bytes = Buffer.from(JSON.stringify(manifest));
      return {
        bytes,
        descriptor: {
          mediaType: OCI_MANIFEST,
          digest: sha256(bytes),
          size: bytes.length,
          artifactType: t.artifactType,
          annotations: manifest.annotations,
        },
      };
    });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: referrers.map((r) => r.descriptor),
      }),
    );
    subjects.push({
      repository,
      image,
      imageTag: `v${i}`,
      subject: subject.digest,
      tag: `sha256-${subject.digest.slice(7)}`,
      referrers,
      index,
    });
  }
  return {
    subjects,
    manifests: subjects.length * (REFERRER_TYPES.length + 1 + (images ? 1 : 0)),
    async prepare(url) {
      for (const repo of new Set(repositories)) {
        await pushBlob(url, repo, empty);
        for (const l of layers) await pushBlob(url, repo, l);
        if (images) {
          await pushBlob(url, repo, imageConfig);
          await pushBlob(url, repo, imageLayer);
        }
      }
    },
    /** Pushes every manifest, `concurrency` subjects at a time; referrers before their index. */
    async push(url, concurrency = 8) {
      let next = 0;
      const worker = async () => {
        while (next < subjects.length) {
          const s = subjects[next++];
          if (s.image) await pushManifest(url, s.repository, s.imageTag, s.image, OCI_MANIFEST);
          for (const r of s.referrers)
            await pushManifest(url, s.repository, r.descriptor.digest, r.bytes, OCI_MANIFEST);
          await pushManifest(url, s.repository, s.tag, s.index, OCI_INDEX);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
    },
  };
}
