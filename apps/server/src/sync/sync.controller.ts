import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { SyncRequests, type RegistryCatalog } from '#ingest';
import { SyncRepository, type Database, type SyncStateRow } from '#store';
import { ApiError } from '../http/errors.js';
import { CATALOG, DATABASE } from '../tokens.js';
import { Access } from '../auth/access.js';
import { SyncBody } from '../api/schemas.js';

function unknownRegistry(name: string): ApiError {
  return new ApiError(404, 'registry_unknown', `no registry named "${name}" is configured`);
}

/** Backfill and reconcile of a configured registry: queued for the worker role, state read back. */
// admin scope
@Controller('api/v1/registries')
export class SyncController {
  private readonly requests: SyncRequests;

  constructor(@Inject(DATABASE) db: Database, @Inject(CATALOG) catalog: RegistryCatalog) {
    this.requests = new SyncRequests(catalog, new SyncRepository(db));
  }

  @Access('admin')
  @Post(':name/sync')
  @HttpCode(202)
  async queue(@Param('name') name: string, @Body() body: unknown) {
    const parsed = SyncBody.safeParse(body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ApiError(
        400,
        'invalid_request',
        `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const req = { registry: name, ...parsed.data };
    const queued = await this.requests.request(req);
    if (!queued) throw unknownRegistry(name);
    return {
      jobId: queued.jobId,
      registry: name,
      reconcile: req.reconcile ?? false,
      repositories: req.repositories ?? null,
    };
  }

  @Access('admin')
  @Get(':name/sync')
  async state(@Param('name') name: string) {
    const found = await this.requests.lastRun(name);
    if (!found) throw unknownRegistry(name);
    return { registry: name, lastRun: found.run ? toApi(found.run) : null };
  }
}

function toApi(run: SyncStateRow) {
  return {
    runId: run.runId,
    jobId: run.jobId,
    status: run.status,
    reconcile: run.reconcile,
    repositories: run.scope,
    resumed: run.resumed,
    resumeAfter: run.resumeAfter,
    startedAt: run.startedAt.toISOString(),
    updatedAt: run.updatedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    error: run.error,
    summary: run.summary,
  };
}
