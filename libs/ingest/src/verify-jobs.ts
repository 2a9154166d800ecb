import type { Task } from 'graphile-worker';
import type { TrustRepository } from '#store';
import type { ArtifactVerifier } from './verify-artifact.js';

/** Re-verification after a policy change is queued in pages of this many artifacts. */
export const STALE_REVERIFY_PAGE = 10_000;

/** The `verify_artifact` task: payload `{ digest }`. Retryable failures throw and are retried with backoff. */
export function verifyTask(verifier: ArtifactVerifier): Task {
  return async (payload) => {
    const digest = (payload as { digest?: unknown } | null)?.digest;
    if (typeof digest !== 'string') return;
    await verifier.run(digest);
  };
}

/**
 * Enqueues re-verification of every result stored under another trust policy version, page by
 * page: verdicts read such results as pending (fail closed), so none may be left behind.
 */
export async function requeueStaleVerifications(
  trust: Pick<TrustRepository, 'enqueueStale'>,
  policyVersion: string,
  page = STALE_REVERIFY_PAGE,
): Promise<number> {
  let total = 0;
  let after = '';
  for (;;) {
    const { queued, last } = await trust.enqueueStale(policyVersion, page, after);
    total += queued;
    if (last === null) return total;
    after = last;
  }
}
