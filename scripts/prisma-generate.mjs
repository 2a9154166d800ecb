// Generates the Prisma client into libs/store/src/generated. The Prisma CLI insists on a native
// schema engine it cannot download offline, although `generate` never runs it: point it at a
// placeholder file when none is configured.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const placeholder = join(tmpdir(), 'refgraph-prisma-schema-engine-placeholder');
  if (!existsSync(placeholder)) writeFileSync(placeholder, '');
  env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}
const res = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], {
  env,
  stdio: ['ignore', 'inherit', 'inherit'],
});
process.exit(res.status ?? 1);
