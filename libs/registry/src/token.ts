import type { RegistryConfig } from '#config';
import { Lru } from '#oci';
import { discard, readJson } from './body.js';
import type { BearerChallenge } from './challenge.js';
import { isNonPublicAddress, literalAddress, type Resolver, systemResolver } from './address.js';
import { errorForNetwork, errorForStatus, RegistryError } from './errors.js';
import type { HttpResponse, HttpSend } from './http.js';

/** Docker's token spec: `expires_in` is in seconds, 60 when the response leaves it out. */
const DEFAULT_EXPIRES_IN_S = 60;
/**
 * The longest a token is reused, whatever the auth server says: a broken or hostile one cannot
 * pin a token for years (or 1e308 s), and one that sends milliseconds gets at most this. Asking
 * for a fresh token early is always correct.
 */
const MAX_TOKEN_LIFETIME_S = 3600;
/** Tokens are kept per scope (one per repository): the most recently used ones. */
const MAX_CACHED_TOKENS = 1000;
/** Renew a little early so a token does not expire between cache lookup and use. */
const EXPIRY_SKEW_MS = 5_000;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface TokenFetchContext {
  /** For a realm on the registry's own origin. */
  send: HttpSend;
  /** For a listed realm elsewhere: connects only to addresses the realm check accepted. */
  realmSend: HttpSend;
  userAgent: string;
  signal: AbortSignal;
}

/**
 * Docker token flow (distribution "token" auth). A realm is used only when it is on the registry's
 * own origin or listed in allowedTokenRealms; anything else is refused before any request, so an
 * unlisted realm never sees a request, the credentials or a token. A listed realm named by host
 * name must resolve to public addresses only: loopback, private and link-local targets are
 * reachable only when listed by that address (e.g. `http://10.0.0.5:5001/token`) or when the
 * registry sets allowPrivateTokenRealms.
 */
export class TokenProvider {
  private readonly cache = new Lru<CachedToken>(MAX_CACHED_TOKENS);
  private readonly pending = new Map<string, Promise<string>>();
  private readonly origin: string;

  constructor(
    private readonly config: RegistryConfig,
    private readonly now: () => number = Date.now,
    private readonly resolver: Resolver = systemResolver,
  ) {
    this.origin = new URL(config.url).origin;
  }

  /** A cached, unexpired token for this scope key, if any. */
  cached(key: string): string | undefined {
    const hit = this.cache.get(key);
    if (!hit) return undefined;
    return hit.expiresAt > this.now() ? hit.token : undefined;
  }

  /** Fetches (or joins an in-flight fetch of) a token for the challenge and caches it under `key`. */
  async obtain(key: string, challenge: BearerChallenge, ctx: TokenFetchContext): Promise<string> {
    const inflight = this.pending.get(key);
    if (inflight) return inflight;
    const p = this.request(key, challenge, ctx).finally(() => this.pending.delete(key));
    this.pending.set(key, p);
    return p;
  }

  private async request(key: string, challenge: BearerChallenge, ctx: TokenFetchContext): Promise<string> {
    const url = await this.vetRealm(challenge.realm);
    const own = url.origin === this.origin;
    if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
    for (const s of (challenge.scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', s);

    const headers: Record<string, string> = { 'User-Agent': ctx.userAgent, Accept: 'application/json' };
    const creds = this.config.credentials;
    // Every realm that gets this far is the registry's own origin or listed: both may have them.
    if (creds?.type === 'basic') {
      headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const what = `token request to ${url.origin}${url.pathname}`;
    let res: HttpResponse;
    try {
      // Redirects are not followed: the realm was vetted, wherever it points next was not.
      res = await (own ? ctx.send : ctx.realmSend)(url, { method: 'GET', headers, signal: ctx.signal });
    } catch (err) {
      throw errorForNetwork(err, what);
    }
    if (res.status < 200 || res.status >= 300) {
      await discard(res);
      const err = errorForStatus(res, what);
      if (err.code === 'not_found' || err.code === 'bad_response') {
        throw new RegistryError('unauthorized', `${what}: token endpoint answered ${res.status}`, {
          status: res.status,
        });
      }
      throw err;
    }
    const body = await readJson(res, MAX_TOKEN_RESPONSE_BYTES, what);
    const b = (body ?? {}) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof b.token === 'string' && b.token ? b.token : b.access_token;
    if (typeof token !== 'string' || !token) {
      throw new RegistryError('bad_response', `${what}: response has neither token nor access_token`);
    }
    const expiresIn =
      typeof b.expires_in === 'number' && Number.isFinite(b.expires_in) && b.expires_in > 0
        ? Math.min(b.expires_in, MAX_TOKEN_LIFETIME_S)
        : DEFAULT_EXPIRES_IN_S;
    const ttl = Math.max(0, expiresIn * 1000 - EXPIRY_SKEW_MS);
    this.cache.set(key, { token, expiresAt: this.now() + ttl });
    return token;
  }

  private async vetRealm(realm: string): Promise<URL> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('unauthorized', `token realm ${JSON.stringify(realm)} is not a URL`);
    }
    const where = `token realm ${url.protocol}//${url.host}${url.pathname}`;
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new RegistryError('unauthorized', `${where} refused: not http(s)`);
    }
    if (url.origin === this.origin) return url;
    if (!this.isListed(url)) {
      throw new RegistryError(
        'unauthorized',
        `${where} refused: not the registry's origin and not listed in allowedTokenRealms`,
      );
    }
    // Listed by address, or private networks allowed: the operator named where it may be.
    if (literalAddress(url.hostname) !== undefined || this.config.allowPrivateTokenRealms) return url;
    let found: Array<{ address: string }>;
    try {
      found = await this.resolver(url.hostname);
    } catch (err) {
      throw errorForNetwork(err, `${where}: cannot resolve ${url.hostname}`);
    }
    const refused = found.find((a) => isNonPublicAddress(a.address));
    if (found.length === 0 || refused) {
      throw new RegistryError(
        'unauthorized',
        `${where} refused: ${url.hostname} resolves to non-public address ${refused?.address ?? '(none)'}; ` +
          `list the realm by that address, or set allowPrivateTokenRealms`,
      );
    }
    return url;
  }

  /** A listed entry is an origin (any path) or an origin plus exact path. */
  private isListed(url: URL): boolean {
    return this.config.allowedTokenRealms.some((entry) => {
      let listed: URL;
      try {
        listed = new URL(entry);
      } catch {
        return false;
      }
      if (listed.origin !== url.origin) return false;
      const path = listed.pathname.replace(/\/+$/, '');
      return path === '' || path === url.pathname.replace(/\/+$/, '');
    });
  }
}
