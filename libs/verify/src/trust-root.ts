import { createHash, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { json as canonicalJson } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type KeyFinderFunc, type TrustMaterial } from '@sigstore/verify';
import { VerificationFailure } from './result.js';
import { STAGING_TRUSTED_ROOT } from './staging-trusted-root.js';

/** Where trust comes from. `public-good` and `staging` need no network. */
export type TrustRootSource =
  | { kind: 'public-good' }
  | { kind: 'staging' }
  | { kind: 'file'; path: string }
  | { kind: 'json'; json: unknown; name?: string };

/** A validated Sigstore trusted root, ready to build verification material from. */
export class TrustRoot {
  /** Built once: parsing the root's keys and certificates is most of a verification's CPU otherwise. */
  private keyless: TrustMaterial | undefined;
  private readonly pinned = new WeakMap<KeyObject, TrustMaterial>();

  private constructor(
    readonly name: string,
    private readonly root: TrustedRoot,
    /**
     * Hex sha256 of the root's canonical JSON: the same content has the same digest wherever it
     * came from (embedded, a file, a TUF refresh), so the trust policy version follows the content.
     */
    readonly digest: string,
  ) {}

  /** Parses and validates `trusted_root.json` content; throws `trust_root_invalid`. */
  static fromJSON(json: unknown, name = 'custom'): TrustRoot {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new VerificationFailure('trust_root_invalid', `trusted root "${name}" is not a JSON object`);
    }
    assertValidityStarts(json, name);
    let root: TrustedRoot;
    try {
      root = TrustedRoot.fromJSON(json);
    } catch (cause) {
      throw new VerificationFailure(
        'trust_root_invalid',
        `trusted root "${name}" does not parse: ${text(cause)}`,
        {
          cause,
        },
      );
    }
    const digest = createHash('sha256').update(canonicalJson.canonicalize(json)).digest('hex');
    const trust = new TrustRoot(name, root, digest);
    trust.material(); // key and certificate encodings are checked here, once, not at first use
    return trust;
  }

  /**
   * Verification material, built once per root and per pinned key: with `key`, key-signed bundles
   * resolve their hint to that key (the trusted root itself carries no signing keys).
   */
  material(key?: KeyObject): TrustMaterial {
    if (!key) return (this.keyless ??= this.build());
    let m = this.pinned.get(key);
    if (!m) this.pinned.set(key, (m = this.build(() => ({ publicKey: key, validFor: () => true }))));
    return m;
  }

  private build(keyFinder?: KeyFinderFunc): TrustMaterial {
    try {
      return toTrustMaterial(this.root, keyFinder);
    } catch (cause) {
      throw new VerificationFailure(
        'trust_root_invalid',
        `trusted root "${this.name}" is unusable: ${text(cause)}`,
        {
          cause,
        },
      );
    }
  }
}

export async function loadTrustRoot(source: TrustRootSource): Promise<TrustRoot> {
  switch (source.kind) {
    case 'public-good':
      return TrustRoot.fromJSON(publicGoodRootJSON(), 'public-good');
    case 'staging':
      return TrustRoot.fromJSON(STAGING_TRUSTED_ROOT, 'staging');
    case 'file': {
      let raw: string;
      try {
        raw = await readFile(source.path, 'utf8');
      } catch (cause) {
        throw new VerificationFailure(
          'trust_root_invalid',
          `cannot read trusted root ${source.path}: ${text(cause)}`,
          {
            cause,
          },
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch (cause) {
        throw new VerificationFailure('trust_root_invalid', `trusted root ${source.path} is not JSON`, {
          cause,
        });
      }
      return TrustRoot.fromJSON(json, source.path);
    }
    case 'json':
      return TrustRoot.fromJSON(source.json, source.name);
  }
}

export const PUBLIC_GOOD_TUF = 'https://tuf-repo-cdn.sigstore.dev';

/**
 * The production trusted root as pinned in `@sigstore/tuf`'s seeds (the TUF target, base64).
 * Loaded offline; a newer root comes with a newer `@sigstore/tuf`, or from a TUF refresh
 * (`trust.tuf`, see tuf/refresher.ts).
 */
function publicGoodRootJSON(): unknown {
  const require = createRequire(import.meta.url);
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> }>;
  const target = seeds[PUBLIC_GOOD_TUF]?.targets?.['trusted_root.json'];
  if (!target) {
    throw new VerificationFailure(
      'trust_root_invalid',
      '@sigstore/tuf seeds carry no public-good trusted_root.json',
    );
  }
  return JSON.parse(Buffer.from(target, 'base64').toString('utf8')) as unknown;
}

interface RawTimeRange {
  start?: unknown;
  end?: unknown;
}
interface RawTrustedRoot {
  tlogs?: { baseUrl?: string; publicKey?: { validFor?: RawTimeRange } }[];
  ctlogs?: { baseUrl?: string; publicKey?: { validFor?: RawTimeRange } }[];
  certificateAuthorities?: { uri?: string; validFor?: RawTimeRange }[];
  timestampAuthorities?: { uri?: string; validFor?: RawTimeRange }[];
}

/**
 * TimeRange.start is required by the trusted-root schema. sigstore-js reads a missing start as
 * "since the beginning of time", which silently widens trust; a root like that is rejected.
 */
function assertValidityStarts(json: RawTrustedRoot, name: string): void {
  const ranges: [string, RawTimeRange | undefined][] = [
    ...(json.tlogs ?? []).map((t, i) => [`tlogs[${i}] ${t.baseUrl ?? ''}`, t.publicKey?.validFor] as const),
    ...(json.ctlogs ?? []).map((t, i) => [`ctlogs[${i}] ${t.baseUrl ?? ''}`, t.publicKey?.validFor] as const),
    ...(json.certificateAuthorities ?? []).map(
      (c, i) => [`certificateAuthorities[${i}]`, c.validFor] as const,
    ),
    ...(json.timestampAuthorities ?? []).map((c, i) => [`timestampAuthorities[${i}]`, c.validFor] as const),
  ].map(([where, range]) => [where.trim(), range]);
  for (const [where, range] of ranges) {
    if (range !== undefined && (typeof range.start !== 'string' || range.start === '')) {
      throw new VerificationFailure(
        'trust_root_invalid',
        `trusted root "${name}": ${where} validFor has no start`,
      );
    }
  }
}

function text(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
