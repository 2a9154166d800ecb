import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type PushableContent, OCI_INDEX, randomImage } from './oci-builders.js';

export interface SkopeoCopyOptions {
  image?: PushableContent;
  auth?: { username: string; password: string };
}

/** Writes an OCI image layout (oci-layout, index.json, blobs/sha256/...) holding one tagged image. */
export async function writeOciLayout(dir: string, tag: string, image: PushableContent): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of [...image.blobs, { digest: image.digest, bytes: image.manifest }]) {
    await writeFile(join(blobs, b.digest.slice('sha256:'.length)), b.bytes);
  }
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: image.mediaType,
        digest: image.digest,
        size: image.size,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/**
 * Pushes an image the way real clients do: an OCI layout on disk copied with skopeo. Returns the
 * digest of the manifest as stored in the registry (skopeo's --digestfile).
 */
export async function skopeoCopyImage(
  registryUrl: string,
  repo: string,
  tag: string,
  opts: SkopeoCopyOptions = {},
): Promise<string> {
  const host = new URL(registryUrl).host;
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-oci-'));
  try {
    const layout = join(dir, 'layout');
    await writeOciLayout(layout, tag, opts.image ?? randomImage());
    const digestFile = join(dir, 'digest');
    const args = [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      '--digestfile',
      digestFile,
      ...(opts.auth ? ['--dest-creds', `${opts.auth.username}:${opts.auth.password}`] : ['--dest-no-creds']),
      `oci:${layout}:${tag}`,
      `docker://${host}/${repo}:${tag}`,
    ];
    try {
      await promisify(execFile)('skopeo', args, { timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`skopeo copy to ${host}/${repo}:${tag} failed: ${e.stderr?.trim() || e.message}`, {
        cause: err,
      });
    }
    return (await readFile(digestFile, 'utf8')).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
