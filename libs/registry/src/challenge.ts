export interface BearerChallenge {
  realm: string;
  service?: string;
  scope?: string;
}

const PARAM_RE = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;

/**
 * Extracts the Bearer challenge from WWW-Authenticate. A header may carry several challenges
 * ("Basic realm=..., Bearer realm=..."); parameters are read from the Bearer one only.
 */
export function parseBearerChallenge(header: string | null): BearerChallenge | undefined {
  if (!header) return undefined;
  const start = header.search(/(?:^|[\s,])Bearer\s/i);
  if (start < 0) return undefined;
  const rest = header.slice(start).replace(/^[\s,]*Bearer\s+/i, '');
  // Stop at the next challenge: a bare token followed by whitespace and a parameter.
  const next = rest.search(/,\s*[A-Za-z][A-Za-z0-9_-]*\s+[A-Za-z][A-Za-z0-9_-]*\s*=/);
  const params = next < 0 ? rest : rest.slice(0, next);
  const out: Record<string, string> = {};
  for (const m of params.matchAll(PARAM_RE)) {
    const key = m[1]?.toLowerCase();
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    if (key && value !== undefined && !(key in out)) out[key] = value;
  }
  if (!out.realm) return undefined;
  return {
    realm: out.realm,
    ...(out.service !== undefined ? { service: out.service } : {}),
    ...(out.scope !== undefined ? { scope: out.scope } : {}),
  };
}

/** True when the header offers a Basic challenge (and no Bearer one). */
export function isBasicChallenge(header: string | null): boolean {
  return !!header && /(?:^|[\s,])Basic(?:\s|$)/i.test(header) && !parseBearerChallenge(header);
}
