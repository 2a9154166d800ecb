import type { Task } from 'graphile-worker';
import type { TrustRepository } from '#store';
import type { ArtifactVerifier } from './verify-artifact.js';

/** Re-verification after a policy change is bounded per start-up; the rest follows on the next. */
export const STALE_REVERIFY_LIMIT = 10_000;

/** The `verify_artifact` task: payload `{ digest }`. Retryable failures throw and are retried with backoff. */
export function verifyTask(verifier: ArtifactVerifier): Task {
  return async (payload) => {
    const digest = (payload as { digest?: unknown } | null)?.digest;
    if (typeof digest !== 'string') return;
    await verifier.run(digest);
  };
}

/** Enqueues re-verification of results stored under another trust policy version. */
export function requeueStaleVerifications(
  trust: Pick<TrustRepository, 'enqueueStale'>,
  policyVersion: string,
  limit = STALE_REVERIFY_LIMIT,
): Promise<number> {
  return trust.enqueueStale(policyVersion, limit);
}
