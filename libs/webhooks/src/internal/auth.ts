import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { WebhookAuth } from '#config';
import { WebhookError, type WebhookRequest } from '../types.js';
import { header } from './body.js';

/** Where a sender puts its HMAC-SHA256 of the raw body: hex, after an optional prefix. */
export interface SignatureHeader {
  /** Lower-case header name. */
  name: string;
  /** E.g. "sha256=" for GitHub; "" for bare hex. Matched case-insensitively. */
  prefix: string;
}

/** Tried in order; the first header present is the one checked, never a later fallback. */
export type SignatureScheme = readonly SignatureHeader[];

const sha256 = (value: string | Buffer): Buffer => createHash('sha256').update(value).digest();

/**
 * Constant-time string equality. Both sides are hashed first so the comparison runs on equal-length
 * buffers and neither the secret's length nor a common prefix is observable through timing.
 */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(sha256(given), sha256(expected));
}

/** Each configured secret's SHA-256, computed once per configuration, not per request. */
const secretDigests = new WeakMap<WebhookAuth, { secret: string; digest: Buffer }>();

/** safeEqual against the secret that `auth` configures. */
function matchesSecret(given: string, auth: WebhookAuth, secret: string): boolean {
  let cached = secretDigests.get(auth);
  // Configured secret against configured secret: nothing the caller sent is compared here.
  if (cached?.secret !== secret) secretDigests.set(auth, (cached = { secret, digest: sha256(secret) }));
  return timingSafeEqual(sha256(given), cached.digest);
}

function unauthorized(message: string): never {
  throw new WebhookError('unauthorized', message);
}

function requireSecret(secret: string): void {
  // An empty configured secret would make an empty credential match: fail closed instead.
  if (secret === '') unauthorized('webhook credential is not configured');
}

function schemeCredential(req: WebhookRequest, scheme: 'bearer' | 'basic'): string {
  const value = header(req, 'authorization');
  if (value === undefined) unauthorized('missing Authorization header');
  const m = /^(\S+)\s+(\S+)\s*$/.exec(value);
  if (!m?.[1] || !m[2] || m[1].toLowerCase() !== scheme)
    unauthorized(`Authorization is not a ${scheme} credential`);
  return m[2];
}

function verifySignature(req: WebhookRequest, secret: string, scheme: SignatureScheme | undefined): void {
  if (!scheme) {
    unauthorized('this sender does not sign its requests; configure bearer, basic or header auth instead');
  }
  const found = scheme.find((h) => header(req, h.name) !== undefined);
  if (!found) unauthorized(`missing signature header (${scheme.map((h) => h.name).join(' or ')})`);
  const value = (header(req, found.name) ?? '').trim();
  const hex =
    value.slice(0, found.prefix.length).toLowerCase() === found.prefix
      ? value.slice(found.prefix.length)
      : '';
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) unauthorized(`${found.name} is not an HMAC-SHA256 signature`);
  const expected = createHmac('sha256', secret).update(req.rawBody).digest();
  // Both buffers are 32 bytes by construction, so timingSafeEqual cannot throw on length.
  if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected))
    unauthorized(`${found.name} does not match the body`);
}

/**
 * Checks the configured credential. Messages say what is missing or wrong, never the secret or
 * what was sent in its place. None of the signing senders (GitHub, Gitea/Forgejo, JFrog) signs a
 * timestamp, so there is nothing a replay window could be checked against; replays are absorbed
 * downstream instead: the inbox drops a signed body it has stored before (whatever delivery id
 * comes with it), and ingest moves a tag only where the registry itself points it.
 */
export function verifyCredentials(req: WebhookRequest, auth: WebhookAuth, scheme?: SignatureScheme): void {
  switch (auth.type) {
    case 'none':
      return;
    case 'bearer': {
      requireSecret(auth.token);
      if (!matchesSecret(schemeCredential(req, 'bearer'), auth, auth.token))
        unauthorized('bearer token does not match');
      return;
    }
    case 'basic': {
      requireSecret(auth.password);
      const decoded = Buffer.from(schemeCredential(req, 'basic'), 'base64').toString('utf8');
      if (!matchesSecret(decoded, auth, `${auth.username}:${auth.password}`))
        unauthorized('basic credentials do not match');
      return;
    }
    case 'header': {
      requireSecret(auth.value);
      const value = header(req, auth.name);
      if (value === undefined) unauthorized(`missing ${auth.name} header`);
      if (!matchesSecret(value, auth, auth.value)) unauthorized(`${auth.name} header does not match`);
      return;
    }
    case 'hmac-sha256':
      requireSecret(auth.secret);
      verifySignature(req, auth.secret, scheme);
      return;
  }
}
