import { Controller, Get, Inject, Param, Query, UseInterceptors } from '@nestjs/common';
import type { Answers, Viewer } from '#answers';
import { Access } from '../auth/access.js';
import { ETagInterceptor } from '../http/etag.interceptor.js';
import { CallerView } from '../http/scope.js';
import { ANSWERS } from '../tokens.js';
import {
  ArtifactVulnerabilitiesQuery,
  DigestParams,
  VulnerabilityArtifactsQuery,
  VulnerabilityParams,
} from './schemas.js';
import { validate } from './validate.js';

/** Vulnerabilities after VEX: across the fleet by vulnerability id, and per image. */
@Controller('api/v1')
@UseInterceptors(ETagInterceptor)
export class VulnerabilitiesController {
  constructor(@Inject(ANSWERS) private readonly answers: Answers) {}

  @Access('read', { heavy: 'explore' })
  @Get('vulnerabilities/:id/artifacts')
  async artifacts(@Param() p: unknown, @Query() q: unknown, @CallerView() viewer: Viewer) {
    const { id } = validate(VulnerabilityParams, p, 'path');
    const opts = validate(VulnerabilityArtifactsQuery, q, 'query');
    return this.answers
      .for(viewer)
      .vulnerabilityArtifacts(id, { after: opts.after, limit: opts.first, vex: opts.vex });
  }

  @Access('read')
  @Get('artifacts/:digest/vulnerabilities')
  async findings(@Param() p: unknown, @Query() q: unknown, @CallerView() viewer: Viewer) {
    const { digest } = validate(DigestParams, p, 'path');
    const opts = validate(ArtifactVulnerabilitiesQuery, q, 'query');
    const rows = await this.answers
      .for(viewer)
      .vulnerabilities(digest, { after: opts.after, limit: opts.first + 1, vex: opts.vex });
    const page = rows.slice(0, opts.first);
    return {
      subject: digest,
      vex: opts.vex,
      findings: page.map((r) => r.finding),
      nextCursor: rows.length > opts.first ? String(page.at(-1)!.id) : null,
    };
  }
}
