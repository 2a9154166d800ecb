import type { RegistryConfig } from '#config';
import { discard, readJson } from './body.js';
import type { BearerChallenge } from './challenge.js';
import { errorForNetwork, errorForStatus, RegistryError } from './errors.js';

const DEFAULT_EXPIRES_IN_S = 60;
/** Renew a little early so a token does not expire between cache lookup and use. */
const EXPIRY_SKEW_MS = 5_000;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface TokenFetchContext {
  fetch: typeof fetch;
  userAgent: string;
  signal: AbortSignal;
}

/**
 * Docker token flow (distribution "token" auth). A realm is used only when it is the registry's own
 * origin, is https, or is listed in allowedTokenRealms. Basic credentials go to the realm only when
 * it is the registry's own origin or explicitly listed: an unlisted https realm is asked anonymously.
 */
export class TokenProvider {
  private readonly cache = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();
  private readonly origin: string;

  constructor(
    private readonly config: RegistryConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.origin = new URL(config.url).origin;
  }

  /** A cached, unexpired token for this scope key, if any. */
  cached(key: string): string | undefined {
    const hit = this.cache.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= this.now()) {
      this.cache.delete(key);
      return undefined;
    }
    return hit.token;
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
    const realm = this.checkRealm(challenge.realm);
    const url = new URL(realm);
    if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
    for (const s of (challenge.scope ?? '').split(' ').filter(Boolean)) url.searchParams.append('scope', s);

    const headers: Record<string, string> = { 'User-Agent': ctx.userAgent, Accept: 'application/json' };
    const creds = this.config.credentials;
    if (creds?.type === 'basic' && this.mayReceiveCredentials(url)) {
      headers.Authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    const what = `token request to ${url.origin}${url.pathname}`;
    let res: Response;
    try {
      // Redirects are not followed: the realm was vetted, wherever it points next was not.
      res = await ctx.fetch(url, { method: 'GET', headers, redirect: 'manual', signal: ctx.signal });
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
        ? b.expires_in
        : DEFAULT_EXPIRES_IN_S;
    const ttl = Math.max(0, expiresIn * 1000 - EXPIRY_SKEW_MS);
    this.cache.set(key, { token, expiresAt: this.now() + ttl });
    return token;
  }

  private checkRealm(realm: string): string {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError('unauthorized', `token realm ${JSON.stringify(realm)} is not a URL`);
    }
    const allowed = url.protocol === 'https:' || url.origin === this.origin || this.isListed(url);
    if (!allowed || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
      throw new RegistryError(
        'unauthorized',
        `token realm ${url.origin}${url.pathname} refused: not https, not the registry's origin ` +
          `and not listed in allowedTokenRealms`,
      );
    }
    return url.toString();
  }

  private mayReceiveCredentials(url: URL): boolean {
    return url.origin === this.origin || this.isListed(url);
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
