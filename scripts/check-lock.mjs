// Fails when package-lock.json lacks an optional dependency that some platform would install:
// `npm ci` refuses such a lock on that platform (e.g. @swc/core-darwin-arm64 on macOS), and
// `npm install` on the machine that made it would not notice.
import { readFileSync } from 'node:fs';

const { packages } = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));

/** Where Node would find `name` from the package at lock key `from`: the nearest enclosing node_modules. */
function resolves(from, name) {
  for (let base = from; ;) {
    if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) return true;
    if (!base) return false;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

const missing = [];
let optional = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const name of Object.keys(entry.optionalDependencies ?? {})) {
    optional++;
    if (!resolves(key, name)) missing.push(`${key || '(root)'} -> ${name}`);
  }
}
if (missing.length > 0) {
  console.error(
    `package-lock.json lacks ${missing.length} optional package(s) that other platforms install:\n  ${missing.join('\n  ')}\n` +
      'Regenerate it: rm -rf node_modules package-lock.json && npm install',
  );
  process.exit(1);
}
console.log(`package-lock.json: all ${optional} optional dependencies are locked for every platform`);
