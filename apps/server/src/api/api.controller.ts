import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import type { Answers, Viewer } from '#answers';
import { ApiError } from '../http/errors.js';
import { ETagInterceptor } from '../http/etag.interceptor.js';
import { CallerView } from '../http/scope.js';
import { ANSWERS } from '../tokens.js';
import {
  AttestationsQuery,
  DigestParams,
  PackageSearchQuery,
  PackagesQuery,
  ReferrersQuery,
  ResolveQuery,
  VerdictBody,
} from './schemas.js';
import { validate } from './validate.js';
import { Access } from '../auth/access.js';

/**
 * REST for policy engines and tools: parses input, asks the read model as the caller, maps the
 * answer. Every answer is read from stored results under the caller's scope.
 */
@Controller('api/v1')
@UseInterceptors(ETagInterceptor)
export class ApiController {
  constructor(@Inject(ANSWERS) private readonly answers: Answers) {}

  @Access('read')
  @Get('resolve')
  async resolve(@Query() q: unknown, @CallerView() viewer: Viewer) {
    const { reference } = validate(ResolveQuery, q, 'query');
    return this.answers.for(viewer).resolve(reference);
  }

  @Access('read')
  @Get('artifacts/:digest')
  async artifact(@Param() p: unknown, @CallerView() viewer: Viewer) {
    const { digest } = validate(DigestParams, p, 'path');
    return this.answers.for(viewer).summary(digest);
  }

  @Access('read')
  @Get('artifacts/:digest/referrers')
  async referrers(@Param() p: unknown, @Query() q: unknown, @CallerView() viewer: Viewer) {
    const { digest } = validate(DigestParams, p, 'path');
    const opts = validate(ReferrersQuery, q, 'query');
    return this.answers.for(viewer).referrers(digest, {
      depth: opts.depth,
      artifactType: opts.artifactType,
      kind: opts.kind,
      after: opts.after,
      limit: opts.first,
      children: opts.children,
    });
  }

  @Access('read')
  @Get('artifacts/:digest/signatures')
  async signatures(@Param() p: unknown, @CallerView() viewer: Viewer) {
    const { digest } = validate(DigestParams, p, 'path');
    return { subject: digest, signatures: await this.answers.for(viewer).signatures(digest) };
  }

  @Access('read')
  @Get('artifacts/:digest/attestations')
  async attestations(@Param() p: unknown, @Query() q: unknown, @CallerView() viewer: Viewer) {
    const { digest } = validate(DigestParams, p, 'path');
    const { predicateType } = validate(AttestationsQuery, q, 'query');
    return {
      subject: digest,
      attestations: await this.answers.for(viewer).attestations(digest, predicateType),
    };
  }

  @Access('read')
  @Get('artifacts/:digest/sbom/packages')
  async packages(@Param() p: unknown, @Query() q: unknown, @CallerView() viewer: Viewer) {
    const { digest } = validate(DigestParams, p, 'path');
    const opts = validate(PackagesQuery, q, 'query');
    const rows = await this.answers.for(viewer).packages(digest, {
      query: opts.q,
      after: opts.after,
      limit: opts.first + 1,
    });
    const page = rows.slice(0, opts.first);
    return {
      subject: digest,
      packages: page.map(({ id: _id, sbomId: _sbom, ...p }) => p),
      nextCursor: rows.length > opts.first ? String(page.at(-1)!.id) : null,
    };
  }

  @Access('read')
  @Get('packages')
  async searchPackages(@Query() q: unknown, @CallerView() viewer: Viewer) {
    const { purl, first } = validate(PackageSearchQuery, q, 'query');
    return { purl, artifacts: await this.answers.for(viewer).searchPackages(purl, first) };
  }

  /**
   * Every subject gets an answer (`allowed` with reason codes); anything refgraph cannot vouch for
   * is denied. Only a malformed request or an unknown policy fails the request as a whole.
   */
  @Access('read', { heavy: 'admission' })
  @Post('verdict')
  @HttpCode(200)
  async verdict(@Body() body: unknown, @CallerView() viewer: Viewer) {
    const { policy, subjects, references } = validate(VerdictBody, body, 'body');
    const verdict = await this.answers
      .for(viewer)
      .verdict(policy, subjects, { images: references === 'image' });
    if (!verdict) throw new ApiError(404, 'policy_unknown', `no policy named "${policy}" is configured`);
    return verdict;
  }

  @Access('read')
  @Get('registries')
  async registries(@CallerView() viewer: Viewer) {
    return { registries: await this.answers.for(viewer).registries() };
  }
}
