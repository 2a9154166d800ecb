// Regenerates docs/screenshots/*.png: runs the explorer's browser test (real registry, real
// signatures, Debian's Chromium) with REFGRAPH_SCREENSHOTS set, so the pictures show exactly
// what the test checks.  Usage: node scripts/screenshots.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs/screenshots');
mkdirSync(out, { recursive: true });
const run = spawnSync(
  'npx',
  ['jest', '--maxWorkers=1', 'test/e2e/ui.e2e.spec.ts', 'test/e2e/ui-first-run.e2e.spec.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      REFGRAPH_SCREENSHOTS: out,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim(),
    },
  },
);
process.exit(run.status ?? 1);
