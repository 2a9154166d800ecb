// The configured admission policies by name, so tools (and the explorer) can ask for each verdict.
import { Controller, Get, Inject } from '@nestjs/common';
import type { RefgraphConfig } from '#config';
import { Access } from '../auth/access.js';
import { CONFIG } from '../tokens.js';

/**
 * Read-only and scope-free: a policy names requirements (authorities, predicate types), never
 * evidence, so listing them reveals nothing about any repository. Verdicts stay scoped.
 */
@Controller('api/v1')
export class PoliciesController {
  constructor(@Inject(CONFIG) private readonly config: RefgraphConfig) {}

  @Access('read')
  @Get('policies')
  list() {
    return {
      policies: this.config.policies.map((p) => ({
        name: p.name,
        requires: {
          signatures: p.signatures?.authorities ?? [],
          attestations: p.attestations.map((a) => a.predicateType),
          sbom: p.sbom,
        },
      })),
    };
  }
}
