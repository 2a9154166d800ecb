import { createHash, timingSafeEqual } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { AuthConfig } from '#config';
import type { Principal } from './principal.js';

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; reason: string };

type OidcConfig = NonNullable<AuthConfig['oidc']>;

export interface AuthenticatorOptions {
  /** The clock the back-off reads (tests advance it instead of waiting). */
  now?: () => number;
}

/** After a failed discovery or key fetch, no outbound call until this has passed (doubling). */
export const OIDC_BACKOFF_MS = { first: 5_000, max: 300_000 };

/** Doubling back-off after consecutive failures; one success resets it. */
class Backoff {
  private failures = 0;
  private until = 0;

  constructor(private readonly now: () => number) {}

  get blocked(): boolean {
    return this.now() < this.until;
  }

  failed(): void {
    this.failures++;
    this.until = this.now() + Math.min(OIDC_BACKOFF_MS.first * 2 ** (this.failures - 1), OIDC_BACKOFF_MS.max);
  }

  succeeded(): void {
    this.failures = 0;
    this.until = 0;
  }
}

const unavailable = (what: string) =>
  Object.assign(new Error(`${what} unavailable`), { code: 'ERR_OIDC_UNAVAILABLE' });

/** Signature algorithms an issuer's published keys can verify (never `none` or a shared secret). */
const ASYMMETRIC_ALGS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/** jose's codes for a key set that could not be fetched, as opposed to a key not found in it. */
const FETCH_FAILURES = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC']);

/**
 * Static API tokens (kept as SHA-256 hashes only) and, optionally, OIDC bearer tokens verified
 * against the configured issuer's keys with an audience check. A bearer that is not a decodable
 * JWS never causes an outbound request; a failed discovery or key fetch is remembered with a
 * doubling back-off, so a stream of tokens costs the identity provider one request per period.
 */
export class Authenticator {
  private readonly tokens: Array<{ hash: Buffer; name: string; scopes: string[] }>;
  private readonly now: () => number;
  private readonly discoveryBackoff: Backoff;
  private readonly keysBackoff: Backoff;
  private keys?: JWTVerifyGetKey;
  private discovering?: Promise<JWTVerifyGetKey>;

  constructor(
    private readonly config: AuthConfig,
    opts: AuthenticatorOptions = {},
  ) {
    this.tokens = config.tokens.map((t) => ({
      hash: Buffer.from(t.sha256, 'hex'),
      name: t.name,
      scopes: t.scopes,
    }));
    this.now = opts.now ?? Date.now;
    this.discoveryBackoff = new Backoff(this.now);
    this.keysBackoff = new Backoff(this.now);
  }

  /** True when any credential is configured; otherwise reads are open and admin is unavailable. */
  get enabled(): boolean {
    return this.tokens.length > 0 || !!this.config.oidc;
  }

  async authenticate(authorization: string | undefined): Promise<AuthOutcome> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m)
      return {
        ok: false,
        reason: authorization ? 'unsupported authorization scheme' : 'credentials required',
      };
    const token = m[1]!;
    const hash = createHash('sha256').update(token).digest();
    // Every configured hash is compared, in constant time, whatever matches first.
    let found: (typeof this.tokens)[number] | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, hash) && !found) found = t;
    if (found) return { ok: true, principal: { name: found.name, kind: 'token', scopes: found.scopes } };
    if (this.config.oidc && token.split('.').length === 3) return this.verifyOidc(token, this.config.oidc);
    return { ok: false, reason: 'invalid token' };
  }

  private async verifyOidc(token: string, oidc: OidcConfig): Promise<AuthOutcome> {
    try {
      const header = decodeProtectedHeader(token);
      if (!ASYMMETRIC_ALGS.has(String(header.alg)))
        return { ok: false, reason: 'invalid token: ERR_JOSE_ALG_NOT_ALLOWED' };
    } catch {
      return { ok: false, reason: 'invalid token: ERR_JWS_INVALID' };
    }
    try {
      const keys = await this.keySet(oidc);
      // A token without `exp` would be good forever (and a socket opened with it never closed).
      const { payload } = await jwtVerify(token, keys, {
        issuer: oidc.issuer,
        audience: oidc.audience,
        requiredClaims: ['exp'],
      });
      return {
        ok: true,
        principal: {
          name: `oidc:${payload.sub ?? 'unknown'}`,
          kind: 'oidc',
          scopes: scopesOf(payload, oidc),
          expiresAt: payload.exp! * 1000,
        },
      };
    } catch (err) {
      return {
        ok: false,
        reason: `invalid token: ${(err as { code?: string }).code ?? 'verification failed'}`,
      };
    }
  }

  /** The issuer's keys; discovery runs once at a time and not again while backing off. */
  private async keySet(oidc: OidcConfig): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    if (oidc.jwksUri) return (this.keys = this.remoteKeys(oidc.jwksUri));
    if (this.discoveryBackoff.blocked) throw unavailable('OIDC discovery');
    this.discovering ??= discoverJwksUri(oidc.issuer)
      .then(
        (uri) => {
          this.discoveryBackoff.succeeded();
          return (this.keys = this.remoteKeys(uri));
        },
        (err: unknown) => {
          this.discoveryBackoff.failed();
          throw err;
        },
      )
      .finally(() => {
        this.discovering = undefined;
      });
    return this.discovering;
  }

  /** jose's remote key set, behind the same back-off for fetch failures (it retries every call). */
  private remoteKeys(uri: string): JWTVerifyGetKey {
    const remote = createRemoteJWKSet(new URL(uri));
    return async (header, token) => {
      if (this.keysBackoff.blocked) throw unavailable('OIDC signing keys');
      try {
        const key = await remote(header, token);
        this.keysBackoff.succeeded();
        return key;
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (typeof code !== 'string' || FETCH_FAILURES.has(code)) this.keysBackoff.failed();
        throw err;
      }
    };
  }
}

function scopesOf(payload: JWTPayload, oidc: OidcConfig): string[] {
  const scopes = [...oidc.scopes];
  const claim = oidc.scopeClaim ? payload[oidc.scopeClaim] : undefined;
  const values =
    typeof claim === 'string' ? claim.split(/\s+/) : Array.isArray(claim) ? claim.map(String) : [];
  scopes.push(...values.filter((v) => v === 'admin' || /^read:[A-Za-z0-9._*/-]+$/.test(v)));
  return scopes;
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw Object.assign(new Error('discovery failed'), { code: 'ERR_OIDC_DISCOVERY' });
  const doc = (await res.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string' || !URL.canParse(doc.jwks_uri))
    throw Object.assign(new Error('no jwks_uri'), { code: 'ERR_OIDC_DISCOVERY' });
  return doc.jwks_uri;
}
