import type { RegistryConfig } from '#config';
import type { Resolver } from './address.js';
import { discard } from './body.js';
import { parseBearerChallenge } from './challenge.js';
import { errorForNetwork, RegistryError } from './errors.js';
import type { HttpResponse, HttpSend } from './http.js';
import { TokenProvider } from './token.js';

export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface TransportOptions {
  send: HttpSend;
  /** For listed token realms on other origins (connects to vetted addresses only). */
  realmSend: HttpSend;
  userAgent: string;
  now?: () => number;
  resolver?: Resolver;
}

export interface SendOptions {
  method: 'GET' | 'HEAD';
  accept?: string;
  /** Passed through for blob range reads (registry view). */
  range?: string;
  /** Token scope this request needs, e.g. `repository:foo:pull`; also the token cache key. */
  scope: string;
  signal: AbortSignal;
  /** Names the request in error messages. */
  what: string;
}

/**
 * One logical registry request: credentials, the token flow (one retry after a 401), and manual
 * redirects. Credentials are attached only to URLs on the registry's own origin, so neither a
 * redirect nor a token realm elsewhere can collect them.
 */
export class Transport {
  readonly base: string;
  readonly origin: string;
  private readonly tokens: TokenProvider;
  private readonly redirectHosts: ReadonlySet<string>;

  constructor(
    private readonly config: RegistryConfig,
    private readonly opts: TransportOptions,
  ) {
    const base = new URL(config.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`registry ${config.name}: base URL must be http(s)`);
    }
    this.base = config.url.replace(/\/+$/, '');
    this.origin = base.origin;
    this.tokens = new TokenProvider(config, opts.now, opts.resolver);
    this.redirectHosts = new Set(config.allowedRedirectHosts.map((h) => h.toLowerCase()));
  }

  /** Builds a URL under the configured base; `path` must start with "/v2/" and hold validated names only. */
  url(path: string): URL {
    return new URL(`${this.base}${path}`);
  }

  /** True when a URL is on the registry's origin (used to vet pagination links). */
  isOwnOrigin(url: URL): boolean {
    return url.origin === this.origin;
  }

  /** Returns the final non-redirect response; the caller reads or discards its body. */
  async send(start: URL, o: SendOptions): Promise<HttpResponse> {
    let authorized = false;
    for (;;) {
      const { res, url } = await this.followRedirects(start, o);
      // A 401 from a redirect target is not ours to answer: its challenge could name any realm.
      if (res.status !== 401 || authorized || !this.isOwnOrigin(url)) return res;
      const challenge = parseBearerChallenge(res.headers.get('www-authenticate'));
      if (!challenge) return res;
      await discard(res);
      await this.tokens.obtain(
        o.scope,
        { ...challenge, scope: challenge.scope ?? o.scope },
        {
          send: this.opts.send,
          realmSend: this.opts.realmSend,
          userAgent: this.opts.userAgent,
          signal: o.signal,
        },
      );
      authorized = true;
    }
  }

  private async followRedirects(start: URL, o: SendOptions): Promise<{ res: HttpResponse; url: URL }> {
    let url = start;
    for (let hops = 0; ; hops++) {
      const res = await this.once(url, o);
      if (!REDIRECT_STATUSES.has(res.status)) return { res, url };
      await discard(res);
      const location = res.headers.get('location');
      if (!location) {
        throw new RegistryError('bad_response', `${o.what}: redirect ${res.status} without Location`, {
          status: res.status,
        });
      }
      if (hops >= MAX_REDIRECTS) {
        throw new RegistryError('forbidden_redirect', `${o.what}: more than ${MAX_REDIRECTS} redirects`);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RegistryError('bad_response', `${o.what}: unparseable redirect Location`);
      }
      this.checkRedirect(next, o.what);
      url = next;
    }
  }

  private checkRedirect(next: URL, what: string): void {
    const webProtocol = next.protocol === 'https:' || next.protocol === 'http:';
    const allowed =
      webProtocol &&
      (this.isOwnOrigin(next) ||
        this.redirectHosts.has(next.host.toLowerCase()) ||
        this.redirectHosts.has(next.hostname.toLowerCase()));
    if (!allowed) {
      throw new RegistryError(
        'forbidden_redirect',
        `${what}: redirect to ${next.protocol}//${next.host} refused (not the registry's origin ` +
          `and not in allowedRedirectHosts)`,
      );
    }
  }

  private async once(url: URL, o: SendOptions): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent };
    if (o.accept) headers.Accept = o.accept;
    if (o.range) headers.Range = o.range;
    const authorization = this.isOwnOrigin(url) ? this.authorization(o.scope) : undefined;
    if (authorization) headers.Authorization = authorization;
    try {
      return await this.opts.send(url, { method: o.method, headers, signal: o.signal });
    } catch (err) {
      throw errorForNetwork(err, o.what);
    }
  }

  private authorization(scope: string): string | undefined {
    const token = this.tokens.cached(scope);
    if (token) return `Bearer ${token}`;
    const creds = this.config.credentials;
    if (creds?.type === 'basic') {
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (creds?.type === 'bearer') return `Bearer ${creds.token}`;
    return undefined;
  }
}
