import { isDigest } from '#oci';

/** `<registry-name>/<repository>[:tag]`, `<registry-name>/<repository>@<digest>`, or a bare digest. */
export interface Reference {
  registry?: string;
  repository?: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceError';
  }
}

const REPOSITORY_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** A plain boolean: isDigest's type guard would narrow a string to never on the other branch. */
function looksLikeDigest(s: string): boolean {
  return isDigest(s);
}

export function parseReference(input: string): Reference {
  const s = input.trim();
  if (looksLikeDigest(s)) return { digest: s };
  const at = s.indexOf('@');
  let name = s;
  const ref: Reference = {};
  if (at >= 0) {
    name = s.slice(0, at);
    const digest = s.slice(at + 1);
    if (!looksLikeDigest(digest)) throw new ReferenceError(`"${input}": "${digest}" is not a valid digest`);
    ref.digest = digest;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon > s.lastIndexOf('/')) {
      name = s.slice(0, colon);
      ref.tag = s.slice(colon + 1);
      if (!TAG_RE.test(ref.tag)) throw new ReferenceError(`"${input}": "${ref.tag}" is not a valid tag`);
    } else {
      ref.tag = 'latest';
    }
  }
  const slash = name.indexOf('/');
  if (slash <= 0)
    throw new ReferenceError(`"${input}": expected <registry-name>/<repository>[:tag|@digest] or a digest`);
  ref.registry = name.slice(0, slash);
  ref.repository = name.slice(slash + 1);
  if (!REPOSITORY_RE.test(ref.repository))
    throw new ReferenceError(`"${input}": "${ref.repository}" is not a valid repository`);
  return ref;
}

export function formatReference(r: Reference): string {
  if (!r.registry) return r.digest ?? '';
  return `${r.registry}/${r.repository}${r.digest ? `@${r.digest}` : `:${r.tag}`}`;
}
