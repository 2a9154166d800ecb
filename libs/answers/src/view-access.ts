/**
 * The registry view's one access decision, in the read model beside the rest: every manifest,
 * blob and tag answer of /v2 goes through it, with the same matcher the SQL rule uses.
 */
import type { ViewManifest } from '#store';
import type { Viewer } from './viewer.js';

export type ViewAccess =
  /** The repository is outside the caller's scope: refused, whatever exists there. */
  | 'denied'
  /** Serve refgraph's stored bytes: they are recorded present in this repository. */
  | 'stored'
  /**
   * In scope, but refgraph cannot vouch for presence here: only the registry's own repository
   * may answer (digest-checked), so a digest stored for another repository never leaks through.
   */
  | 'registry';

export function decideViewAccess(
  viewer: Viewer,
  registry: string,
  repository: string,
  stored?: ViewManifest | null,
): ViewAccess {
  if (!viewer.mayRead(registry, repository)) return 'denied';
  return stored?.present === true ? 'stored' : 'registry';
}
