import { createHash, timingSafeEqual } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { AuthConfig } from '#config';
import type { Principal } from './principal.js';

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; reason: string };

type OidcConfig = NonNullable<AuthConfig['oidc']>;

/**
 * Static API tokens (kept as SHA-256 hashes only) and, optionally, OIDC bearer tokens verified
 * against the configured issuer's keys with an audience check.
 */
export class Authenticator {
  private readonly tokens: Array<{ hash: Buffer; name: string; scopes: string[] }>;
  private jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly config: AuthConfig) {
    this.tokens = config.tokens.map((t) => ({
      hash: Buffer.from(t.sha256, 'hex'),
      name: t.name,
      scopes: t.scopes,
    }));
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
      this.jwks ??= createRemoteJWKSet(new URL(oidc.jwksUri ?? (await discoverJwksUri(oidc.issuer))));
      const { payload } = await jwtVerify(token, this.jwks, { issuer: oidc.issuer, audience: oidc.audience });
      return {
        ok: true,
        principal: {
          name: `oidc:${payload.sub ?? 'unknown'}`,
          kind: 'oidc',
          scopes: scopesOf(payload, oidc),
        },
      };
    } catch (err) {
      return {
        ok: false,
        reason: `invalid token: ${(err as { code?: string }).code ?? 'verification failed'}`,
      };
    }
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
  if (typeof doc.jwks_uri !== 'string')
    throw Object.assign(new Error('no jwks_uri'), { code: 'ERR_OIDC_DISCOVERY' });
  return doc.jwks_uri;
}
