// Where refreshed trusted roots come from: a TUF repository, through @sigstore/tuf (tuf-js).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { initTUF } from '@sigstore/tuf';
import { PUBLIC_GOOD_TUF } from '../trust-root.js';

const TRUSTED_ROOT_TARGET = 'trusted_root.json';

export interface TufSourceOptions {
  /** The TUF repository; absent: the public-good Sigstore repository (seeded by @sigstore/tuf). */
  mirrorUrl?: string;
  /** The repository's initial root.json; required for any repository @sigstore/tuf has no seed for. */
  rootFile?: string;
  /** Verified metadata (per repository) and the last trusted root a refresh accepted. */
  cacheDir: string;
  /** Per request; there are no retries (the next scheduled refresh is the retry). */
  timeoutMs: number;
}

/** What the refresher needs from a TUF repository: verified trusted_root.json content, and a place to keep it. */
export interface TrustedRootSource {
  readonly name: string;
  /** A fully verified trusted_root.json target; rejects on any failure of the TUF update. */
  fetch(): Promise<unknown>;
  /** The last root `remember` kept, or undefined when there is none or it does not parse. */
  lastGood(): Promise<unknown>;
  remember(json: unknown): Promise<void>;
}

/**
 * A TUF client per refresh: tuf-js updates the root (each new version signed by a threshold of the
 * previous one's keys and by its own), then timestamp, snapshot and targets, refusing expired
 * metadata, rollbacks and bad signatures, and checks the target's length and hashes. The cache
 * directory holds the metadata it verified, so a rotated root is trusted from then on.
 */
export class TufTrustedRootSource implements TrustedRootSource {
  readonly name: string;
  private readonly mirrorUrl: string;
  private readonly lastGoodFile: string;

  constructor(private readonly options: TufSourceOptions) {
    this.mirrorUrl = options.mirrorUrl ?? PUBLIC_GOOD_TUF;
    this.name = `tuf ${this.mirrorUrl}`;
    const url = new URL(this.mirrorUrl);
    // The same per-repository name @sigstore/tuf gives its metadata directory.
    const repository = encodeURIComponent(url.host + url.pathname.replace(/\/$/, ''));
    this.lastGoodFile = path.join(options.cacheDir, `${repository}.trusted_root.json`);
  }

  async fetch(): Promise<unknown> {
    await mkdir(this.options.cacheDir, { recursive: true });
    const client = await initTUF({
      mirrorURL: this.mirrorUrl,
      cachePath: this.options.cacheDir,
      ...(this.options.rootFile ? { rootPath: this.options.rootFile } : {}),
      timeout: this.options.timeoutMs,
      retry: false,
      forceCache: false,
    });
    return JSON.parse(await client.getTarget(TRUSTED_ROOT_TARGET)) as unknown;
  }

  async lastGood(): Promise<unknown> {
    try {
      return JSON.parse(await readFile(this.lastGoodFile, 'utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  /** Written to a temporary file and renamed, so a reader never sees half a root. */
  async remember(json: unknown): Promise<void> {
    await mkdir(this.options.cacheDir, { recursive: true });
    const tmp = `${this.lastGoodFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(json));
    await rename(tmp, this.lastGoodFile);
  }
}
