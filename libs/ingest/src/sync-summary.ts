import { ManifestError } from '#oci';
import { InvalidNameError, RegistryError } from '#registry';
import type { WriteOutcome } from '#store';

export interface SyncErrorSample {
  repository?: string;
  reference?: string;
  code: string;
  message: string;
}

/** What one run did; stored with the run state, printed by the CLI, served by the API. */
export interface SyncSummary {
  registry: string;
  reconcile: boolean;
  /** The run continued an earlier one that stopped early, after `resumeAfter`. */
  resumed: boolean;
  resumeAfter: string | null;
  /** What the run learned about the registry's referrers API (null: never asked). */
  referrersApi: boolean | null;
  repositoriesTotal: number;
  repositories: number;
  tags: number;
  manifestsFetched: number;
  /** Digests already stored, so not fetched. */
  manifestsSkipped: number;
  manifestsWritten: number;
  /** Writes that lost to a newer event about the same row, e.g. a webhook that arrived meanwhile. */
  stale: number;
  edgesAdded: number;
  edgesRemoved: number;
  deletes: number;
  tagDeletes: number;
  requests: number;
  retries: number;
  rateLimited: number;
  errors: number;
  /** The first errors, for the report; `errors` counts all of them. */
  errorSamples: SyncErrorSample[];
}

const MAX_SAMPLES = 50;

export function emptySummary(registry: string, reconcile: boolean): SyncSummary {
  return {
    registry,
    reconcile,
    resumed: false,
    resumeAfter: null,
    referrersApi: null,
    repositoriesTotal: 0,
    repositories: 0,
    tags: 0,
    manifestsFetched: 0,
    manifestsSkipped: 0,
    manifestsWritten: 0,
    stale: 0,
    edgesAdded: 0,
    edgesRemoved: 0,
    deletes: 0,
    tagDeletes: 0,
    requests: 0,
    retries: 0,
    rateLimited: 0,
    errors: 0,
    errorSamples: [],
  };
}

/**
 * Failures that concern one item of one registry (unreachable, refused, malformed content): they
 * are counted and the walk goes on. Anything else (the database, a bug) ends the run.
 */
export function isItemError(err: unknown): boolean {
  return err instanceof RegistryError || err instanceof ManifestError || err instanceof InvalidNameError;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof RegistryError && err.code === 'not_found';
}

export function recordError(s: SyncSummary, err: unknown, repository?: string, reference?: string): void {
  s.errors++;
  if (s.errorSamples.length >= MAX_SAMPLES) return;
  const code =
    err instanceof RegistryError ? err.code : err instanceof ManifestError ? 'bad_manifest' : 'invalid';
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 500);
  s.errorSamples.push({
    ...(repository === undefined ? {} : { repository }),
    ...(reference === undefined ? {} : { reference }),
    code,
    message,
  });
}

export function recordWrite(s: SyncSummary, res: WriteOutcome): void {
  if (!res.applied) s.stale++;
  s.edgesAdded += res.edgesAdded;
  s.edgesRemoved += res.edgesRemoved;
}
