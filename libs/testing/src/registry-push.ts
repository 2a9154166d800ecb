import type { ContentBlob, PushableContent } from './oci-builders.js';
import { sha256 } from './oci-builders.js';

export interface PushOptions {
  /** Basic credentials, for a registry started with htpasswd. */
  auth?: { username: string; password: string };
}

function headers(opts: PushOptions, extra: Record<string, string> = {}): Record<string, string> {
  const h = { ...extra };
  if (opts.auth) {
    h.Authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}`;
  }
  return h;
}

async function expectStatus(res: Response, expected: number[], what: string): Promise<void> {
  if (expected.includes(res.status)) {
    await res.body?.cancel();
    return;
  }
  throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
}

/** Monolithic upload: POST opens the session, PUT ?digest= completes it (what Distribution 2.8 accepts). */
export async function pushBlob(
  registryUrl: string,
  repo: string,
  bytes: Buffer,
  opts: PushOptions = {},
): Promise<string> {
  const digest = sha256(bytes);
  const started = await fetch(`${registryUrl}/v2/${repo}/blobs/uploads/`, {
    method: 'POST',
    headers: headers(opts),
  });
  await expectStatus(started, [202], `start upload to ${repo}`);
  const location = started.headers.get('location');
  if (!location) throw new Error(`start upload to ${repo}: no Location header`);
  const put = new URL(location, registryUrl);
  put.searchParams.set('digest', digest);
  const done = await fetch(put, {
    method: 'PUT',
    headers: headers(opts, { 'Content-Type': 'application/octet-stream' }),
    body: bytes,
  });
  await expectStatus(done, [201], `upload ${digest} to ${repo}`);
  return digest;
}

/** PUT a manifest under a tag or its digest; returns the digest the registry reports. */
export async function pushManifest(
  registryUrl: string,
  repo: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
  opts: PushOptions = {},
): Promise<string> {
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: headers(opts, { 'Content-Type': mediaType }),
    body: bytes,
  });
  await expectStatus(res, [201], `push manifest ${repo}:${reference}`);
  return res.headers.get('docker-content-digest') ?? sha256(bytes);
}

export async function deleteManifest(
  registryUrl: string,
  repo: string,
  digest: string,
  opts: PushOptions = {},
): Promise<void> {
  const res = await fetch(`${registryUrl}/v2/${repo}/manifests/${digest}`, {
    method: 'DELETE',
    headers: headers(opts),
  });
  await expectStatus(res, [202], `delete ${repo}@${digest}`);
}

export async function pushBlobs(
  registryUrl: string,
  repo: string,
  blobs: ContentBlob[],
  opts: PushOptions = {},
): Promise<void> {
  for (const b of blobs) await pushBlob(registryUrl, repo, b.bytes, opts);
}

/** Pushes blobs, then the manifest under `tag` (or under its digest when tag is omitted). */
export async function pushImage(
  registryUrl: string,
  repo: string,
  tag: string | undefined,
  image: PushableContent,
  opts: PushOptions = {},
): Promise<string> {
  await pushBlobs(registryUrl, repo, image.blobs, opts);
  return pushManifest(registryUrl, repo, tag ?? image.digest, image.manifest, image.mediaType, opts);
}
