import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { evaluatePolicy, type Answers } from '#answers';
import type { RefgraphConfig } from '#config';
import type { QueryRepository, RepositoryScope } from '#store';
import { Scope } from '../http/scope.js';
import { ANSWERS, CONFIG, QUERY } from '../tokens.js';
import { PolicyParams, ProviderRequest } from './schemas.js';
import { validate } from './validate.js';
import { Access } from '../auth/access.js';

const API_VERSION = 'externaldata.gatekeeper.sh/v1beta1';

interface Item {
  key: string;
  value?: unknown;
  error?: string;
}

function response(items: Item[], systemError = '') {
  return {
    apiVersion: API_VERSION,
    kind: 'ProviderResponse',
    response: { idempotent: true, items, systemError },
  };
}

/**
 * Gatekeeper external data provider: each key is an image reference; each item's value is the
 * named policy's verdict for it. Problems with one key are that key's error; problems with the
 * whole request are systemError, always with HTTP 200 as Gatekeeper expects.
 */
@Controller('api/v1/gatekeeper')
export class GatekeeperController {
  constructor(
    @Inject(ANSWERS) private readonly answers: Answers,
    @Inject(QUERY) private readonly query: QueryRepository,
    @Inject(CONFIG) private readonly config: RefgraphConfig,
  ) {}

  @Access('read')
  @Post(':policy')
  @HttpCode(200)
  async provide(@Param() p: unknown, @Body() body: unknown, @Scope() scope: RepositoryScope) {
    const { policy: name } = validate(PolicyParams, p, 'path');
    const parsed = ProviderRequest.safeParse(body);
    if (!parsed.success)
      return response([], `invalid ProviderRequest: ${parsed.error.issues[0]?.message ?? 'bad body'}`);
    const policy = this.config.policies.find((x) => x.name === name);
    if (!policy) return response([], `no policy named "${name}" is configured`);

    const keys = parsed.data.request.keys;
    const answers = await this.answers.resolveAll(keys);
    const found = [...new Set(answers.flatMap((r) => (r instanceof Error ? [] : [r.digest])))];
    const visible = scope ? await this.query.findLocations(found, scope) : undefined;
    const resolved = keys.map((key, i): { key: string; digest?: string; error?: string } => {
      const r = answers[i]!;
      if (r instanceof Error) return { key, error: r.message };
      if (visible && !visible.get(r.digest)?.length) return { key, error: 'not found' };
      return { key, digest: r.digest };
    });
    const digests = [...new Set(resolved.flatMap((r) => (r.digest ? [r.digest] : [])))];
    const verdict = await evaluatePolicy(this.query, policy, digests);
    const bySubject = new Map(verdict.subjects.map((s) => [s.subject, s]));
    return response(
      resolved.map((r): Item => {
        if (!r.digest) return { key: r.key, error: r.error };
        const v = bySubject.get(r.digest)!;
        return { key: r.key, value: { digest: r.digest, allowed: v.allowed, reasons: v.reasons } };
      }),
    );
  }
}
