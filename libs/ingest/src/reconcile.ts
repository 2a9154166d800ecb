import type { SyncRepository } from '#store';
import { TaskPool } from './sync-limiter.js';
import { isItemError, recordError, type SyncSummary } from './sync-summary.js';
import type { WalkContext, WalkResult } from './sync-walk.js';

/**
 * After a walk of a repository: what the graph holds as present (or tagged) but the walk did not
 * see is asked about once more, one by one, and only a registry that answers "not found" turns it
 * into a delete. The walk cannot see untagged manifests nobody lists (Distribution has no way to
 * enumerate them), and a webhook may have added something after the walk's listing; both are
 * still there when asked, so neither is deleted. A delete carries the time before the question,
 * so a push delivered by webhook after it still wins.
 */
export async function reconcileRepository(
  ctx: WalkContext,
  sync: SyncRepository,
  repository: string,
  walk: WalkResult,
): Promise<void> {
  if (!walk.listed) return;
  const digests = (await sync.presentDigests(ctx.registryId, repository)).filter((d) => !walk.present.has(d));
  const tags = (await sync.liveTags(ctx.registryId, repository)).filter((t) => !walk.tags.has(t));
  if (digests.length === 0 && tags.length === 0) return;
  const repositoryId = await ctx.registries.ensureRepository(ctx.registryId, repository);
  const { source, limiter, graph, summary } = ctx;
  const pool = new TaskPool(ctx.width, ctx.signal);

  for (const digest of digests) {
    pool.add(() =>
      guard(summary, repository, digest, async () => {
        const at = new Date();
        if (await limiter.call(() => source.manifestExists(repository, digest))) return;
        const res = await graph.applyDelete(repositoryId, digest, at);
        if (res.applied) summary.deletes++;
        else summary.stale++;
        summary.edgesRemoved += res.edgesRemoved;
      }),
    );
  }
  for (const tag of tags) {
    pool.add(() =>
      guard(summary, repository, tag, async () => {
        const at = new Date();
        if ((await limiter.call(() => source.resolveTag(repository, tag))) !== null) return;
        const res = await graph.applyTagDelete(repositoryId, tag, at);
        if (res.applied) summary.tagDeletes++;
        else summary.stale++;
        summary.edgesRemoved += res.edgesRemoved;
      }),
    );
  }
  await pool.run();
}

async function guard(summary: SyncSummary, repository: string, reference: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    if (!isItemError(err)) throw err;
    recordError(summary, err, repository, reference);
  }
}
