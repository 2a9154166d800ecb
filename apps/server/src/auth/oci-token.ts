/**
 * OCI client authentication for the registry view: the Docker token flow (401 challenge naming
 * <refgraph>/v2/token, a token endpoint issuing short-lived signed tokens) and Basic with a refgraph
 * API token as the password. A token issued here grants reads only, never more than the API token
 * it was issued for, and only the repositories asked for when a scope was asked.
 */
import { routeAccess } from './access.js';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { RegistryViewConfig } from '#config';
import type { AuthOutcome, Authenticator } from './authenticator.js';
import { Viewer } from '#answers';
import { readScope, type Principal } from './principal.js';

export const OCI_TOKEN_PATH = '/v2/token';
/** The tokens' issuer; their audience is the configured service (`registryView.service`). */
const ISSUER = 'refgraph';
/** Marks tokens issued here, so they are never confused with OIDC tokens (also JWTs). */
const KEY_ID = 'refgraph-oci';
const NAME_RE =
  /^[a-z0-9][a-z0-9._-]{0,62}\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const VIEW_PATH_RE = /^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)\//;

export interface TokenResponse {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
}

export class OciTokens {
  private readonly key: Uint8Array;

  constructor(
    private readonly auth: Authenticator,
    private readonly config: RegistryViewConfig,
    private readonly now: () => number = Date.now,
  ) {
    // Without a configured secret, tokens hold only on the replica that issued them.
    this.key = config.tokenSecret ? Buffer.from(config.tokenSecret) : randomBytes(32);
  }

  /**
   * The caller of a /v2 route: a token issued here (Bearer), a refgraph API token as the Basic
   * password (any username) or as Bearer, or an OIDC token, as elsewhere.
   */
  async authenticate(authorization: string | undefined): Promise<AuthOutcome> {
    const p = presented(authorization);
    if (p?.scheme === 'basic') {
      if (!p.secret || /\s/.test(p.secret)) return { ok: false, reason: 'invalid credentials' };
      return this.auth.authenticate(`Bearer ${p.secret}`);
    }
    if (p && this.isIssuedHere(p.secret)) return this.verify(p.secret);
    return this.auth.authenticate(authorization);
  }

  /** Whether the credential is a token issued here, as Bearer or as the Basic password. */
  private issuedHere(authorization: string | undefined): boolean {
    const p = presented(authorization);
    return p !== undefined && this.isIssuedHere(p.secret);
  }

  /** The challenge a 401 on a /v2 route carries: where to get a token, and for which repository. */
  challenge(req: FastifyRequest): string {
    const path = req.url.split('?', 1)[0]!;
    let name: string | undefined;
    try {
      name = decodeURIComponent(VIEW_PATH_RE.exec(path)?.[1] ?? '');
    } catch {
      name = undefined;
    }
    const scope = name && NAME_RE.test(name) ? `,scope="repository:${name}:pull"` : '';
    return `Bearer realm="${this.realm(req)}",service="${this.config.service}"${scope}`;
  }

  /** Issues a token for `principal`: its read scope, narrowed to the requested repositories if any. */
  async issue(principal: Principal, requested: string[]): Promise<TokenResponse> {
    const scopes = grantedScopes(readScope(principal), requested);
    const issuedAt = Math.floor(this.now() / 1000);
    // Never valid longer than the credential it was issued for (an OIDC token's expiry).
    const expiresAt =
      principal.expiresAt === undefined
        ? issuedAt + this.config.tokenTtlSeconds
        : Math.min(issuedAt + this.config.tokenTtlSeconds, Math.floor(principal.expiresAt / 1000));
    const token = await new SignJWT({ scopes })
      .setProtectedHeader({ alg: 'HS256', kid: KEY_ID, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(this.config.service)
      .setSubject(principal.name)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return {
      token,
      access_token: token,
      expires_in: expiresAt - issuedAt,
      issued_at: new Date(issuedAt * 1000).toISOString(),
    };
  }

  /** GET /v2/token (Docker token spec). The auth hook lets it through: it authenticates itself. */
  routes(onAnswered?: (method: string, status: number) => void) {
    return (app: FastifyInstance, _opts: unknown, done: (err?: Error) => void): void => {
      app.addHook('onResponse', (req, reply, next) => {
        onAnswered?.(req.method, reply.statusCode);
        next();
      });
      app.get(
        OCI_TOKEN_PATH,
        { config: routeAccess('public', { limited: true }) },
        async (req: FastifyRequest, reply: FastifyReply) => {
          let principal: Principal = { name: 'anonymous', kind: 'anonymous', scopes: ['read:**'] };
          if (this.auth.enabled) {
            // Only the caller's own credential buys a token: one issued here is not traded for a
            // fresher one, or a token once issued would be renewable forever.
            const outcome = this.issuedHere(req.headers.authorization)
              ? {
                  ok: false as const,
                  reason: 'a token issued here cannot be exchanged for another: use an API or OIDC token',
                }
              : await this.authenticate(req.headers.authorization);
            if (!outcome.ok) {
              return reply
                .status(401)
                .header('www-authenticate', `Basic realm="${ISSUER}"`)
                .send({ errors: [{ code: 'UNAUTHORIZED', message: outcome.reason }] });
            }
            principal = outcome.principal;
          }
          const scope = readScope(principal);
          if (scope !== undefined && scope.length === 0) {
            return reply
              .status(403)
              .send({ errors: [{ code: 'DENIED', message: 'this token has no read scope' }] });
          }
          const q = (req.query ?? {}) as Record<string, string | string[] | undefined>;
          // A token is only ever for this service: one asked for another is refused, not re-aimed.
          const services = [q.service ?? []].flat();
          if (services.some((s) => s !== this.config.service)) {
            return reply.status(400).send({
              errors: [
                {
                  code: 'UNSUPPORTED',
                  message: `tokens here are for service "${this.config.service}" only`,
                },
              ],
            });
          }
          const requested = [q.scope ?? []].flat().flatMap((s) => s.split(/\s+/).filter(Boolean));
          return reply.header('cache-control', 'no-store').send(await this.issue(principal, requested));
        },
      );
      done();
    };
  }

  /** externalUrl, else the origin the client used (a Host that is not a plain host[:port] is not echoed). */
  private realm(req: FastifyRequest): string {
    if (this.config.externalUrl) return `${this.config.externalUrl}${OCI_TOKEN_PATH}`;
    const host = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(req.host)
      ? req.host
      : 'localhost';
    return `${req.protocol}://${host}${OCI_TOKEN_PATH}`;
  }

  private isIssuedHere(token: string): boolean {
    try {
      return decodeProtectedHeader(token).kid === KEY_ID;
    } catch {
      return false;
    }
  }

  private async verify(token: string): Promise<AuthOutcome> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: this.config.service,
        algorithms: ['HS256'],
        currentDate: new Date(this.now()),
      });
      const scopes = Array.isArray(payload.scopes)
        ? payload.scopes.filter((s): s is string => typeof s === 'string' && s.startsWith('read:'))
        : [];
      const expiresAt = typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {};
      return {
        ok: true,
        principal: { name: `oci:${payload.sub ?? 'unknown'}`, kind: 'token', scopes, ...expiresAt },
      };
    } catch (err) {
      return {
        ok: false,
        reason: `invalid token: ${(err as { code?: string }).code ?? 'verification failed'}`,
      };
    }
  }
}

/** The secret a request presents: the Basic password (any username) or the Bearer token. */
function presented(
  authorization: string | undefined,
): { scheme: 'basic' | 'bearer'; secret: string } | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return { scheme: 'basic', secret: colon >= 0 ? decoded.slice(colon + 1) : '' };
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return bearer ? { scheme: 'bearer', secret: bearer[1]! } : undefined;
}

/**
 * The read scopes a token carries: without requested scopes, the principal's whole read scope;
 * with them, each requested `repository:<registry>/<repository>:…pull…` the principal may read.
 * Repository names cannot hold glob characters, so a granted name matches itself only.
 */
export function grantedScopes(scope: string[] | undefined, requested: string[]): string[] {
  if (requested.length === 0) return scope === undefined ? ['read:**'] : scope.map((p) => `read:${p}`);
  const viewer = new Viewer('token', scope);
  const granted = new Set<string>();
  for (const r of requested) {
    const m = /^repository:([^:]+):([a-z,*]+)$/.exec(r);
    if (!m || !NAME_RE.test(m[1]!) || !m[2]!.split(',').some((a) => a === 'pull' || a === '*')) continue;
    const name = m[1]!;
    const slash = name.indexOf('/');
    if (viewer.mayRead(name.slice(0, slash), name.slice(slash + 1))) granted.add(`read:${name}`);
  }
  return [...granted];
}
