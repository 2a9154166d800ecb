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
    // `name:tag@digest`: runtimes pull the digest and ignore the tag, so the answer is about the
    // digest alone (the tag must still be well-formed, as runtimes require).
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/')) {
      const tag = name.slice(colon + 1);
      if (!TAG_RE.test(tag)) throw new ReferenceError(`"${input}": "${tag}" is not a valid tag`);
      name = name.slice(0, colon);
    }
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

/** Docker Hub's host names: an image without a registry host is pulled from there. */
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** True when a name's first component is a registry host by the rules container runtimes apply. */
function isHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/**
 * An image string as a container runtime reads it (a pod spec's `image`): the first component
 * names a registry host only when it contains `.` or `:` or is `localhost`; otherwise the image
 * comes from Docker Hub (`nginx` is `docker.io/library/nginx`). `registry` is the host, and the
 * caller matches it against configured registries' URLs only, never against their names: a pod
 * image `local/app:v1` is pulled from Docker Hub's `local` account, whatever refgraph calls its
 * own registries.
 */
export function parseImageReference(input: string): Reference & { registry: string } {
  const s = input.trim();
  if (looksLikeDigest(s))
    throw new ReferenceError(`"${input}": an image needs a repository, not a bare digest`);
  const slash = s.indexOf('/');
  const first = slash > 0 ? s.slice(0, slash) : '';
  const hosted = first !== '' && isHost(first);
  const host = hosted ? first.toLowerCase() : 'docker.io';
  let rest = hosted ? s.slice(slash + 1) : s;
  if (DOCKER_HUB.has(host) && !rest.includes('/')) rest = `library/${rest}`;
  let ref: Reference;
  try {
    ref = parseReference(`${host}/${rest}`);
  } catch (err) {
    if (err instanceof ReferenceError)
      throw new ReferenceError(`"${input}": expected an image, [host/]repository[:tag|@digest]`);
    throw err;
  }
  return { ...ref, registry: DOCKER_HUB.has(host) ? 'docker.io' : host };
}

/** Whether a configured registry URL's host serves `host` as a container runtime names it. */
export function servesHost(registryUrl: string, host: string): boolean {
  const h = new URL(registryUrl).host.toLowerCase();
  return h === host || (host === 'docker.io' && DOCKER_HUB.has(h));
}
