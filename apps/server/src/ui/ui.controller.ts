import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Access } from '../auth/access.js';

const require = createRequire(import.meta.url);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page loads only its own files and talks only to this origin (GraphQL over HTTP and
 * WebSocket, and the REST activity endpoints): no CDN, no inline script, no external fonts.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The package root: the first ancestor with a package.json (same from `apps/` sources and `dist/`). */
function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}

/** Every servable file under `dir`, keyed by its URL path below `/ui/`; nothing else is ever read. */
function listAssets(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (Object.hasOwn(TYPES, extname(name))) out.set(relative(dir, path).split(sep).join('/'), path);
    }
  };
  walk(dir);
  out.set(
    'vendor/graphql-ws.js',
    join(dirname(require.resolve('graphql-ws/package.json')), 'umd/graphql-ws.min.js'),
  );
  return out;
}

export const UI_DIR = join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'apps/ui/src');

/** The explorer at `/ui`: static ES modules from `apps/ui/src`, public; its API calls carry the token. */
@Controller('ui')
export class UiController {
  private readonly assets = listAssets(UI_DIR);
  private readonly cache = new Map<string, Buffer>();

  @Access('public')
  @Get()
  page(@Res() reply: FastifyReply) {
    return this.send(reply, 'index.html');
  }

  @Access('public')
  @Get(':file')
  file(@Param('file') file: string, @Res() reply: FastifyReply) {
    return this.send(reply, file);
  }

  @Access('public')
  @Get(':dir/:file')
  nested(@Param('dir') dir: string, @Param('file') file: string, @Res() reply: FastifyReply) {
    return this.send(reply, `${dir}/${file}`);
  }

  private send(reply: FastifyReply, name: string) {
    const path = this.assets.get(name);
    if (!path) {
      return reply.status(404).send({ error: { code: 'not_found', message: 'no such file', requestId: '' } });
    }
    let body = this.cache.get(name);
    if (!body) {
      body = readFileSync(path);
      this.cache.set(name, body);
    }
    return reply
      .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=300')
      .send(body);
  }
}
