import type { RepositoryScope } from '#store';

/** Who is calling, and what they may do. */
export interface Principal {
  name: string;
  kind: 'token' | 'oidc' | 'anonymous';
  scopes: string[];
  /** When the credential stops being valid (ms since the epoch); API tokens do not expire. */
  expiresAt?: number;
}

export function isAdmin(p: Principal): boolean {
  return p.scopes.includes('admin');
}

/**
 * The repository patterns a principal may read, as queries take them: undefined means every
 * repository (admin, or `read:**`); an empty list means none.
 */
export function readScope(p: Principal): RepositoryScope {
  if (isAdmin(p)) return undefined;
  const patterns = p.scopes.filter((s) => s.startsWith('read:')).map((s) => s.slice('read:'.length));
  if (patterns.includes('**')) return undefined;
  return patterns;
}
