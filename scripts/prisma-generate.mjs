// Generates the Prisma client into libs/store/src/generated. The Prisma CLI insists on a native
// schema engine it cannot download offline, although `generate` never runs it: point it at a
// placeholder file when none is configured.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = 'node_modules/prisma/build/index.js';
if (!existsSync(CLI)) {
  // The Prisma CLI is a dev dependency: a production install (`npm ci --omit=dev`) has none, and
  // needs none, since the generated client is compiled into dist/ by `npm run build`.
  if (/\bdev\b/.test(process.env.npm_config_omit ?? '') || process.env.NODE_ENV === 'production') {
    console.log('prisma-generate: production install without the Prisma CLI; dist/ carries the client');
    process.exit(0);
  }
  console.error(`prisma-generate: ${CLI} is missing; run npm ci (with dev dependencies) first`);
  process.exit(1);
}

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const placeholder = join(tmpdir(), 'refgraph-prisma-schema-engine-placeholder');
  if (!existsSync(placeholder)) writeFileSync(placeholder, '');
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}
const res = spawnSync(process.execPath, [CLI, 'generate'], {
  env,
  stdio: ['ignore', 'inherit', 'inherit'],
});
process.exit(res.status ?? 1);
