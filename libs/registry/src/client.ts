import { DEFAULT_REGISTRY_TIMEOUTS, type RegistryConfig } from '#config';
import { type Resolver, systemResolver } from './address.js';
import { verifyBlob } from './blob.js';
import { type BlobOpenOptions, type OpenedBlob, openBlobStream } from './blob-stream.js';
import { discard, parseJson, readJson, readLimited } from './body.js';
import { errorForStatus, RegistryError } from './errors.js';
import { boundedSend, fetchSend, type HttpResponse } from './http.js';
import { resolveNext } from './link.js';
import { type FetchedManifest, verifyManifest } from './manifest.js';
import { MANIFEST_ACCEPT, OCI_INDEX } from './media-types.js';
import {
  assertDigest,
  assertReference,
  assertRepository,
  assertTag,
  headerDigest,
  isRepositoryName,
  isTag,
} from './names.js';
import { parseReferrersPage, type ReferrersListing, REFERRERS_UNSUPPORTED_STATUSES } from './referrers.js';
import { Transport } from './transport.js';

export interface RegistryClientOptions {
  /** Per HTTP exchange (all redirects, the token flow and the body). Default 30 s. */
  timeoutMs?: number;
  /**
   * Replaces the HTTP stack (tests that must fake TLS or lie about framing): the configured
   * connect and first-byte timeouts and the pinned realm lookups then do not apply.
   */
  fetch?: typeof fetch;
  /** Host name resolution for token realms; tests stand in for DNS with it. */
  resolver?: Resolver;
  userAgent?: string;
  /** Cap on catalog, tag list and referrers pages. Default 16 MiB. */
  maxListBytes?: number;
  /** Clock for token expiry. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_PAGE_SIZE = 100;
const DEFAULT_MAX_LIST_BYTES = 16 * 1024 * 1024;
/** A registry whose pagination never ends is treated as broken rather than followed forever. */
const MAX_PAGES = 10_000;

/**
 * Distribution API client for one configured registry. Every URL is built from the configured base
 * URL and names validated before any request, so nothing from a webhook payload can steer it.
 */
export class RegistryClient {
  private readonly transport: Transport;
  private readonly timeoutMs: number;
  private readonly maxListBytes: number;

  constructor(
    private readonly config: RegistryConfig,
    opts: RegistryClientOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxListBytes = opts.maxListBytes ?? DEFAULT_MAX_LIST_BYTES;
    const timeouts = config.timeouts ?? DEFAULT_REGISTRY_TIMEOUTS;
    const resolver = opts.resolver ?? systemResolver;
    this.transport = new Transport(config, {
      send: opts.fetch ? fetchSend(opts.fetch) : boundedSend(timeouts),
      realmSend: opts.fetch
        ? fetchSend(opts.fetch)
        : boundedSend(timeouts, config.allowPrivateTokenRealms ? undefined : { resolver }),
      userAgent: opts.userAgent ?? 'refgraph',
      resolver,
      ...(opts.now ? { now: opts.now } : {}),
    });
  }

  get name(): string {
    return this.config.name;
  }

  /** Fetches a manifest by digest or tag, verifying its digest and enforcing maxManifestBytes. */
  async fetchManifest(repository: string, reference: string): Promise<FetchedManifest> {
    assertRepository(repository);
    const kind = assertReference(reference);
    const what = `${this.config.name}: manifest ${repository}@${reference}`;
    const signal = this.signal();
    const res = await this.transport.send(this.transport.url(`/v2/${repository}/manifests/${reference}`), {
      method: 'GET',
      accept: MANIFEST_ACCEPT,
      scope: pullScope(repository),
      signal,
      what,
    });
    if (!ok(res)) {
      await discard(res);
      throw errorForStatus(res, what);
    }
    const bytes = await readLimited(res, this.config.maxManifestBytes, what);
    return verifyManifest(res, bytes, { kind, reference }, what);
  }

  /**
   * Fetches a blob by digest, at most `maxBytes`, verifying its digest. Redirects (object storage)
   * follow the same rules as manifests: allowed hosts only, credentials only on the registry's origin.
   */
  async fetchBlob(repository: string, digest: string, maxBytes: number): Promise<Buffer> {
    assertRepository(repository);
    assertDigest(digest);
    const what = `${this.config.name}: blob ${repository}@${digest}`;
    const res = await this.transport.send(this.transport.url(`/v2/${repository}/blobs/${digest}`), {
      method: 'GET',
      scope: pullScope(repository),
      signal: this.signal(),
      what,
    });
    if (!ok(res)) {
      await discard(res);
      throw errorForStatus(res, what);
    }
    return verifyBlob(await readLimited(res, maxBytes, what), digest, what);
  }

  /**
   * Opens a blob for streaming to a client (the registry view), checked as it passes: see
   * blob-stream.ts. Redirects follow the same rules as fetchBlob.
   */
  async openBlob(repository: string, digest: string, o: BlobOpenOptions): Promise<OpenedBlob> {
    assertRepository(repository);
    assertDigest(digest);
    return openBlobStream(
      this.transport,
      this.transport.url(`/v2/${repository}/blobs/${digest}`),
      digest,
      o,
      {
        scope: pullScope(repository),
        what: `${this.config.name}: blob ${repository}@${digest}`,
        timeoutMs: this.timeoutMs,
      },
    );
  }

  /** The digest a tag points at, or null when the tag (or repository) does not exist. */
  async resolveTag(repository: string, tag: string): Promise<string | null> {
    assertRepository(repository);
    assertTag(tag);
    const what = `${this.config.name}: tag ${repository}:${tag}`;
    const res = await this.head(repository, tag, what);
    if (res.status === 404) return null;
    if (!ok(res)) throw errorForStatus(res, what);
    const digest = headerDigest(res);
    if (digest !== undefined) return digest;
    // Some registries omit Docker-Content-Digest on HEAD; the digest then comes from the bytes.
    try {
      return (await this.fetchManifest(repository, tag)).digest;
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'not_found') return null;
      throw err;
    }
  }

  async manifestExists(repository: string, digest: string): Promise<boolean> {
    assertRepository(repository);
    assertDigest(digest);
    const what = `${this.config.name}: manifest ${repository}@${digest}`;
    const res = await this.head(repository, digest, what);
    if (res.status === 404) return false;
    if (!ok(res)) throw errorForStatus(res, what);
    const claimed = headerDigest(res);
    if (claimed !== undefined && claimed !== digest) {
      throw new RegistryError('digest_mismatch', `${what}: registry answered for ${claimed}`);
    }
    return true;
  }

  /** Every repository in the catalog, page by page (`n`, then `Link` or `last`). */
  listRepositories(pageSize: number = DEFAULT_PAGE_SIZE): AsyncIterable<string> {
    assertPageSize(pageSize);
    const what = `${this.config.name}: catalog`;
    return this.paginate('/v2/_catalog', pageSize, 'registry:catalog:*', what, (body) => {
      const list = (body as { repositories?: unknown } | null)?.repositories;
      return stringList(list, isRepositoryName, `${what}: repositories`);
    });
  }

  listTags(repository: string, pageSize: number = DEFAULT_PAGE_SIZE): AsyncIterable<string> {
    assertRepository(repository);
    assertPageSize(pageSize);
    const what = `${this.config.name}: tags of ${repository}`;
    return this.paginate(`/v2/${repository}/tags/list`, pageSize, pullScope(repository), what, (body) => {
      const list = (body as { tags?: unknown } | null)?.tags;
      // Distribution answers `"tags": null` for a repository whose tags were all deleted.
      return list === null ? [] : stringList(list, isTag, `${what}: tags`);
    });
  }

  /**
   * The referrers API, all pages; `supported: false` when the registry does not implement it. The
   * listing is held whole, so its pages together stay within maxListBytes (a page alone would let
   * a registry that pages forever grow it without bound).
   */
  async listReferrers(repository: string, digest: string): Promise<ReferrersListing> {
    assertRepository(repository);
    assertDigest(digest);
    const what = `${this.config.name}: referrers of ${repository}@${digest}`;
    const descriptors: ReferrersListing['descriptors'] = [];
    const seen = new Set<string>();
    let budget = this.maxListBytes;
    let url: URL | undefined = this.transport.url(`/v2/${repository}/referrers/${digest}`);
    for (let page = 0; url; page++) {
      guardPage(seen, url, page, what);
      const res = await this.transport.send(url, {
        method: 'GET',
        accept: OCI_INDEX,
        scope: pullScope(repository),
        signal: this.signal(),
        what,
      });
      if (page === 0 && REFERRERS_UNSUPPORTED_STATUSES.has(res.status)) {
        await discard(res);
        return { supported: false, descriptors: [] };
      }
      if (!ok(res)) {
        await discard(res);
        throw errorForStatus(res, what);
      }
      const bytes = await readLimited(
        res,
        budget,
        `${what} (page ${page + 1}, ${budget} of ${this.maxListBytes} listing bytes left)`,
      );
      budget -= bytes.length;
      // One by one: spreading a page of ~150,000 descriptors into push() overflows the stack.
      for (const d of parseReferrersPage(parseJson(bytes, what), what)) descriptors.push(d);
      url = resolveNext(res.headers.get('link'), url, this.transport.origin, what);
    }
    return { supported: true, descriptors };
  }

  private async *paginate(
    path: string,
    pageSize: number,
    scope: string,
    what: string,
    extract: (body: unknown) => string[],
  ): AsyncGenerator<string> {
    const seen = new Set<string>();
    let url: URL | undefined = this.transport.url(`${path}?n=${pageSize}`);
    let after: string | undefined;
    for (let page = 0; url; page++) {
      guardPage(seen, url, page, what);
      const res = await this.transport.send(url, {
        method: 'GET',
        accept: 'application/json',
        scope,
        signal: this.signal(),
        what,
      });
      if (!ok(res)) {
        await discard(res);
        throw errorForStatus(res, what);
      }
      const items = extract(await readJson(res, this.maxListBytes, what));
      // A page requested with `last` that still contains `last` comes from a registry that ignores
      // the parameter (Distribution 2.8 does so for tags): everything was already yielded.
      if (after !== undefined && items.includes(after)) return;
      yield* items;
      url = resolveNext(res.headers.get('link'), url, this.transport.origin, what);
      after = undefined;
      // Without Link, only a page of exactly `n` entries suggests more; a longer one means `n` was ignored.
      const last = items.at(-1);
      if (!url && last !== undefined && items.length === pageSize) {
        after = last;
        url = this.transport.url(`${path}?n=${pageSize}&last=${encodeURIComponent(last)}`);
      }
    }
  }

  private head(repository: string, reference: string, what: string): Promise<HttpResponse> {
    return this.transport
      .send(this.transport.url(`/v2/${repository}/manifests/${reference}`), {
        method: 'HEAD',
        accept: MANIFEST_ACCEPT,
        scope: pullScope(repository),
        signal: this.signal(),
        what,
      })
      .then(async (res) => {
        await discard(res);
        return res;
      });
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs);
  }
}

function ok(res: HttpResponse): boolean {
  return res.status >= 200 && res.status < 300;
}

function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

function assertPageSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`page size must be a positive integer, got ${n}`);
}

function guardPage(seen: Set<string>, url: URL, page: number, what: string): void {
  const key = url.toString();
  if (seen.has(key) || page >= MAX_PAGES) {
    throw new RegistryError(
      'bad_response',
      `${what}: pagination does not advance (${url.pathname}${url.search})`,
    );
  }
  seen.add(key);
}

function stringList(value: unknown, valid: (s: string) => boolean, what: string): string[] {
  if (!Array.isArray(value)) throw new RegistryError('bad_response', `${what}: not an array`);
  for (const v of value) {
    if (typeof v !== 'string' || !valid(v)) {
      throw new RegistryError('bad_response', `${what}: invalid entry ${JSON.stringify(v)}`);
    }
  }
  return value as string[];
}
