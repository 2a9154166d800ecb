/** What a route needs. Anything not listed here needs read access: deny by default. */
export type Access = 'public' | 'webhook' | 'read' | 'admin';

const PUBLIC_EXACT = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/ui']);
// The explorer's page and files are public; the API calls it makes carry the user's token.
const PUBLIC_PREFIXES = ['/docs/assets/', '/graphql/ide', '/ui/'];
const ADMIN_PATTERNS = [/^\/api\/v1\/events(\/|$)/, /^\/api\/v1\/registries\/[^/]+\/sync$/];

export function accessFor(method: string, path: string): Access {
  if (method === 'POST' && path.startsWith('/webhooks/')) return 'webhook';
  if (method === 'GET' || method === 'HEAD') {
    if (PUBLIC_EXACT.has(path) || PUBLIC_PREFIXES.some((p) => path.startsWith(p))) return 'public';
  }
  if (ADMIN_PATTERNS.some((re) => re.test(path))) return 'admin';
  return 'read';
}
