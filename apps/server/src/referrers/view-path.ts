/** Parses /v2/<registry>/<repository>/<api>/<reference> the way Distribution routes it. */
import { isRepositoryName } from '#registry';
import { ViewError } from './view-errors.js';

export type ViewApi = 'manifests' | 'blobs' | 'tags' | 'referrers';

export interface ViewTarget {
  api: ViewApi;
  registry: string;
  repository: string;
  /** The digest or tag (manifests), digest (blobs, referrers) or "list" (tags), decoded. */
  reference: string;
}

// The repository may itself contain "manifests" or "blobs": the API is the second-to-last
// segment, as a reference never contains "/".
const PATH_RE = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/([^/]+)$/;

/** The API a path names, or undefined for a path that is none of the view's (e.g. upload URLs). */
export function viewApiOf(path: string): ViewApi | undefined {
  return PATH_RE.exec(path)?.[2] as ViewApi | undefined;
}

/**
 * Throws ViewError for malformed names (400). Whether the registry is configured is the caller's
 * to check, after the caller's scope: outside it, an unknown registry looks like any other.
 */
export function parseViewPath(path: string): ViewTarget {
  const m = PATH_RE.exec(path);
  if (!m) throw new ViewError(404, 'NAME_UNKNOWN', 'not a registry API path');
  let name: string;
  let reference: string;
  try {
    name = decodeURIComponent(m[1]!);
    reference = decodeURIComponent(m[3]!);
  } catch {
    throw new ViewError(400, 'NAME_INVALID', 'malformed percent-encoding in the path');
  }
  const slash = name.indexOf('/');
  const registry = slash > 0 ? name.slice(0, slash) : name;
  const repository = slash > 0 ? name.slice(slash + 1) : '';
  if (!isRepositoryName(repository)) throw new ViewError(400, 'NAME_INVALID', 'invalid repository name');
  return { api: m[2] as ViewApi, registry, repository, reference };
}

/**
 * A query parameter as Distribution reads it (Go's `url.Values.Get`): the first value when it is
 * given more than once, never the list.
 */
export function queryValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
