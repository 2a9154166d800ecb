/** Blobs named by manifests the view just pulled through from a registry, before ingestion links them. */
import { blobDigests, parseManifest } from '#oci';
import { Lru } from './view-lru.js';

/** Long enough for a client to fetch what it just resolved; ingestion links the blobs for good. */
const PULLED_MS = 10 * 60_000;
const PULLED_ENTRIES = 50_000;

export class PulledBlobs {
  private readonly blobs: Lru<true>;

  constructor(now: () => number = Date.now) {
    this.blobs = new Lru(PULLED_ENTRIES, now);
  }

  /** Records the blobs a manifest served from `registry/repository` names; bytes that do not parse name none. */
  record(
    registry: string,
    repository: string,
    manifest: { digest: string; mediaType: string; bytes: Buffer },
  ) {
    let digests: string[];
    try {
      digests = blobDigests(parseManifest(manifest.bytes, manifest.digest, manifest.mediaType));
    } catch {
      return;
    }
    for (const d of digests) this.blobs.set(key(registry, repository, d), true);
  }

  has(registry: string, repository: string, digest: string): boolean {
    return this.blobs.get(key(registry, repository, digest), PULLED_MS) === true;
  }
}

function key(registry: string, repository: string, digest: string): string {
  return `${registry}/${repository}@${digest}`;
}
