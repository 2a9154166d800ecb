import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { openApiDocument } from './openapi.js';
import { Access } from '../auth/access.js';

const require = createRequire(import.meta.url);
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const VERSION = packageVersion();

/** The nearest package.json above this file: one level deeper under dist/ than in the sources. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}
/** Own keys only: a name like `__proto__` or `constructor` is no asset (a Map has no prototype keys). */
const ASSETS = new Map<string, string>([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
]);

/** The OpenAPI document and a local Swagger UI: no CDN, the service may run air-gapped. */
@Controller()
export class OpenApiController {
  private readonly document = openApiDocument(VERSION);

  @Access('public')
  @Get('openapi.json')
  openapi() {
    return this.document;
  }

  @Access('public')
  @Get('docs')
  docs(@Res() reply: FastifyReply) {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>refgraph API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;
    return reply.header('content-type', 'text/html; charset=utf-8').send(html);
  }

  @Access('public')
  @Get('docs/assets/:file')
  asset(@Param('file') file: string, @Res() reply: FastifyReply) {
    const type = ASSETS.get(file);
    if (!type)
      return reply
        .status(404)
        .send({ error: { code: 'not_found', message: 'no such asset', requestId: '' } });
    return reply
      .header('content-type', type)
      .header('cache-control', 'public, max-age=86400')
      .send(readFileSync(join(SWAGGER_DIR, file)));
  }
}
