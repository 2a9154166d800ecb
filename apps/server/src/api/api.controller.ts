import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseInterceptors } from '@nestjs/common';
import { evaluatePolicy, type Answers, type Resolved } from '#answers';
import type { RefgraphConfig } from '#config';
import type { QueryRepository, RepositoryScope } from '#store';
import { ApiError } from '../http/errors.js';
import { ETagInterceptor } from '../http/etag.interceptor.js';
import { Scope } from '../http/scope.js';
import { ANSWERS, CONFIG, QUERY } from '../tokens.js';
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

/** REST for policy engines and tools. Every answer is read from stored results. */
@Controller('api/v1')
@UseInterceptors(ETagInterceptor)
export class ApiController {
  constructor(
    @Inject(ANSWERS) private readonly answers: Answers,
    @Inject(QUERY) private readonly query: QueryRepository,
    @Inject(CONFIG) private readonly config: RefgraphConfig,
  ) {}

  @Access('read')
  @Get('resolve')
  async resolve(@Query() q: unknown) {
    const { reference } = validate(ResolveQuery, q, 'query');
    return this.answers.resolve(reference);
  }

  @Access('read')
  @Get('artifacts/:digest')
  async artifact(@Param() p: unknown, @Scope() scope: RepositoryScope) {
    const { digest } = validate(DigestParams, p, 'path');
    return this.answers.summary(digest, scope);
  }

  @Access('read')
  @Get('artifacts/:digest/referrers')
  async referrers(@Param() p: unknown, @Query() q: unknown, @Scope() scope: RepositoryScope) {
    const { digest } = validate(DigestParams, p, 'path');
    const opts = validate(ReferrersQuery, q, 'query');
    await this.visible(digest, scope);
    return this.answers.referrers(digest, {
      depth: opts.depth,
      scope,
      artifactType: opts.artifactType,
      kind: opts.kind,
      after: opts.after,
      limit: opts.first,
      children: opts.children,
    });
  }

  @Access('read')
  @Get('artifacts/:digest/signatures')
  async signatures(@Param() p: unknown, @Scope() scope: RepositoryScope) {
    const { digest } = validate(DigestParams, p, 'path');
    await this.visible(digest, scope);
    return { subject: digest, signatures: await this.query.findSignatures([digest]) };
  }

  @Access('read')
  @Get('artifacts/:digest/attestations')
  async attestations(@Param() p: unknown, @Query() q: unknown, @Scope() scope: RepositoryScope) {
    const { digest } = validate(DigestParams, p, 'path');
    const { predicateType } = validate(AttestationsQuery, q, 'query');
    await this.visible(digest, scope);
    return { subject: digest, attestations: await this.query.findAttestations([digest], { predicateType }) };
  }

  @Access('read')
  @Get('artifacts/:digest/sbom/packages')
  async packages(@Param() p: unknown, @Query() q: unknown, @Scope() scope: RepositoryScope) {
    const { digest } = validate(DigestParams, p, 'path');
    const opts = validate(PackagesQuery, q, 'query');
    await this.visible(digest, scope);
    const rows = await this.query.findPackages(digest, {
      query: opts.q,
      after: opts.after,
      limit: opts.first + 1,
    });
    const page = rows.slice(0, opts.first);
    return {
      subject: digest,
      packages: page.map(({ id: _id, ...p }) => p),
      nextCursor: rows.length > opts.first ? String(page.at(-1)!.id) : null,
    };
  }

  @Access('read')
  @Get('packages')
  async searchPackages(@Query() q: unknown, @Scope() scope: RepositoryScope) {
    const { purl, first } = validate(PackageSearchQuery, q, 'query');
    return { purl, artifacts: await this.query.findArtifactsByPurl(purl, scope, first) };
  }

  @Access('read')
  @Post('verdict')
  @HttpCode(200)
  async verdict(@Body() body: unknown, @Scope() scope: RepositoryScope) {
    const { policy: name, subjects } = validate(VerdictBody, body, 'body');
    const policy = this.config.policies.find((p) => p.name === name);
    if (!policy) throw new ApiError(404, 'policy_unknown', `no policy named "${name}" is configured`);
    const answers = await this.answers.resolveAll(subjects);
    const failed = answers.find((r) => r instanceof Error);
    if (failed) throw failed;
    const resolved = answers as Resolved[];
    await this.visible([...new Set(resolved.map((r) => r.digest))], scope);
    const verdict = await evaluatePolicy(this.query, policy, [...new Set(resolved.map((r) => r.digest))]);
    return {
      ...verdict,
      subjects: resolved.map((r) => ({
        reference: r.reference,
        ...verdict.subjects.find((s) => s.subject === r.digest)!,
      })),
    };
  }

  @Access('read')
  @Get('registries')
  async registries() {
    const rows = await this.answers.registries();
    return { registries: rows };
  }

  /** A caller must not learn about digests outside its scope, not even that they exist. */
  private async visible(digests: string | string[], scope: RepositoryScope): Promise<void> {
    if (!scope) return;
    const all = typeof digests === 'string' ? [digests] : digests;
    const where = await this.query.findLocations(all, scope);
    const hidden = all.find((d) => !where.get(d)?.length);
    if (hidden) throw new ApiError(404, 'not_found', `artifact ${hidden} is not known`);
  }
}
