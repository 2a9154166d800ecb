import {
  Body,
  Catch,
  Controller,
  HttpCode,
  Inject,
  Param,
  Post,
  UseFilters,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Answers, Viewer } from '#answers';
import { ReadTimeoutError } from '#store';
import { CallerView } from '../http/scope.js';
import { ANSWERS } from '../tokens.js';
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
 * A read past its time bound fails the whole request as a systemError (Gatekeeper denies on it,
 * examples/gatekeeper/constraint-template.yaml): never items for some keys and not others. Every
 * other error takes the global filter's way.
 */
@Catch(ReadTimeoutError)
export class GatekeeperTimeoutFilter implements ExceptionFilter {
  catch(exception: ReadTimeoutError, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply.status(200).send(response([], `refgraph could not answer in time: ${exception.message}`));
  }
}

/**
 * Gatekeeper external data provider: each key is an image as the pod names it (the registry by its
 * host, Docker Hub when there is none, as a container runtime reads it); each item's value is the
 * named policy's verdict for it. A key refgraph cannot vouch for carries an error and a denying
 * value; problems with the whole request are systemError, always with HTTP 200 as Gatekeeper
 * expects.
 */
@Controller('api/v1/gatekeeper')
@UseFilters(GatekeeperTimeoutFilter)
export class GatekeeperController {
  constructor(@Inject(ANSWERS) private readonly answers: Answers) {}

  @Access('read', { heavy: 'admission' })
  @Post(':policy')
  @HttpCode(200)
  async provide(@Param() p: unknown, @Body() body: unknown, @CallerView() viewer: Viewer) {
    const { policy: name } = validate(PolicyParams, p, 'path');
    const parsed = ProviderRequest.safeParse(body);
    if (!parsed.success)
      return response([], `invalid ProviderRequest: ${parsed.error.issues[0]?.message ?? 'bad body'}`);
    const keys = parsed.data.request.keys;
    // Keys are pod images: read as a container runtime reads them (registry by host only).
    const verdict = await this.answers.for(viewer).verdict(name, keys, { images: true });
    if (!verdict) return response([], `no policy named "${name}" is configured`);
    return response(
      verdict.subjects.map((v, i): Item => {
        const value = { digest: v.subject, allowed: v.allowed, reasons: v.reasons, codes: v.codes };
        return v.subject === null ? { key: keys[i]!, value, error: v.reasons[0] } : { key: keys[i]!, value };
      }),
    );
  }
}
