import { RegistryError } from './errors.js';

/** The target of `rel="next"` in a Link header, unresolved; undefined when there is none. */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const m of header.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const params = m[2] ?? '';
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (rels.includes('next')) return m[1];
  }
  return undefined;
}

/**
 * Resolves a next link against the page it came from. Only the registry's own origin is followed:
 * a Link header must not steer the client (or its credentials) anywhere else.
 */
export function resolveNext(
  header: string | null,
  current: URL,
  origin: string,
  what: string,
): URL | undefined {
  const target = nextLink(header);
  if (target === undefined) return undefined;
  let next: URL;
  try {
    next = new URL(target, current);
  } catch {
    throw new RegistryError('bad_response', `${what}: unparseable Link target`);
  }
  if (next.origin !== origin) {
    throw new RegistryError('bad_response', `${what}: Link points to another origin (${next.origin})`);
  }
  return next;
}
