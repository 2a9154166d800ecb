import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Third-party material, read in place (never copied into the repository). */
export const CORPUS = process.env.REFGRAPH_CORPUS ?? path.resolve(process.cwd(), '../shared/corpus');

export function corpusPath(...parts: string[]): string {
  return path.join(CORPUS, ...parts);
}

export function corpusBytes(...parts: string[]): Buffer {
  return readFileSync(corpusPath(...parts));
}

export function corpusJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(corpusBytes(...parts).toString('utf8')) as T;
}

export function digestOf(bytes: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/**
 * containers/image's on-disk form of one cosign signature layer: a `\0sigstore-json\n` prefix, then
 * `{ mimeType, payload (base64 of the layer blob), annotations (the layer descriptor's) }`.
 */
export function cosignSignatureLayer(...parts: string[]): {
  mediaType: string;
  blob: Buffer;
  annotations: Record<string, string>;
} {
  const raw = corpusBytes(...parts).toString('utf8');
  const doc = JSON.parse(raw.slice(raw.indexOf('{'))) as {
    mimeType: string;
    payload: string;
    annotations: Record<string, string>;
  };
  return { mediaType: doc.mimeType, blob: Buffer.from(doc.payload, 'base64'), annotations: doc.annotations };
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** An OCI layout written by `cosign save`: blobs by digest, and the index entries by `kind`. */
export class CosignLayout {
  constructor(private readonly dir: string) {}

  blob(digest: string): Buffer {
    return corpusBytes(this.dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  }

  json<T>(digest: string): T {
    return JSON.parse(this.blob(digest).toString('utf8')) as T;
  }

  entry(kind: string): Descriptor {
    const index = corpusJson<{ manifests: Descriptor[] }>(this.dir, 'index.json');
    const found = index.manifests.find((m) => m.annotations?.kind === `dev.cosignproject.cosign/${kind}`);
    if (!found) throw new Error(`${this.dir}: no ${kind} entry`);
    return found;
  }

  /** The subject digest slsa-verifier recorded next to the layout. */
  subjectDigest(): string {
    return corpusBytes(`${this.dir}.digest`).toString('utf8').trim();
  }
}
