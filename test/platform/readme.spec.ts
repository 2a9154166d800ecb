import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema, parse as parseGraphql, validate } from 'graphql';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '#config';
import { ensureBuilt } from '../faults/service.js';
import { readmeBlocks, readmeInlineCode, type Block } from './readme.js';

/**
 * Every fenced block of README.md is checked by its language, and an unknown language fails, so a
 * new example cannot go unchecked. GraphQL documents are also executed against a seeded graph in
 * test/e2e/readme.e2e.spec.ts.
 */
const blocks = readmeBlocks();
const byLang = (lang: string) => blocks.filter((b) => b.lang === lang);
const at = (b: Block) => `README.md:${b.line}`;

/** Top-level keys of refgraph.yaml; any other YAML block is a registry's config. */
const REFGRAPH_KEYS = new Set([
  'server',
  'worker',
  'sync',
  'trust',
  'auth',
  'policies',
  'registries',
  'registryView',
  'limits',
  'graphql',
  'database',
]);

it('README.md has only blocks of languages this file checks', () => {
  expect(blocks.length).toBeGreaterThan(5);
  expect([...new Set(blocks.map((b) => b.lang))].sort()).toEqual(['', 'graphql', 'sh', 'yaml']);
});

describe('graphql blocks', () => {
  const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
  it.each(byLang('graphql').map((b) => [at(b), b] as const))(
    '%s validates against schema.graphql',
    (_, b) => {
      expect(validate(schema, parseGraphql(b.body)).map((e) => e.message)).toEqual([]);
    },
  );
});

describe('yaml blocks', () => {
  const yaml = byLang('yaml').map((b) => ({ b, doc: parseYaml(b.body) as Record<string, unknown> }));
  const refgraph = yaml.filter(({ doc }) => Object.keys(doc).every((k) => REFGRAPH_KEYS.has(k)));
  const others = yaml.filter((y) => !refgraph.includes(y));

  it('refgraph.yaml sections together are one file the config loader accepts', () => {
    expect(refgraph.length).toBeGreaterThanOrEqual(3);
    const merged: Record<string, unknown> = {};
    for (const { b, doc } of refgraph) {
      for (const [k, v] of Object.entries(doc)) {
        expect([at(b), k, k in merged]).toEqual([at(b), k, false]); // one section, one block
        merged[k] = v;
      }
    }
    const cfg = parseConfig(merged, { REFGRAPH_OCI_TOKEN_SECRET: 'x'.repeat(32) });
    expect(cfg.policies.map((p) => p.name)).toContain('production');
    expect(cfg.auth.tokens.map((t) => t.name)).toEqual(['gatekeeper', 'operations']);
    expect(cfg.trust.authorities.length).toBeGreaterThan(0);
  });

  it('the Distribution notifications block is the endpoint docker-compose.yml gives the registry', () => {
    expect(others).toHaveLength(1);
    const readme = (others[0]!.doc as { notifications: { endpoints: unknown[] } }).notifications.endpoints;
    const compose = parseYaml(readFileSync('docker-compose.yml', 'utf8')) as {
      services: { registry: { environment: Record<string, string> } };
    };
    const env = compose.services.registry.environment.REGISTRY_NOTIFICATIONS_ENDPOINTS!.replace(
      '${LOCAL_WEBHOOK_TOKEN:-dev-only-token}',
      '<the value of LOCAL_WEBHOOK_TOKEN>',
    );
    expect(readme).toEqual(parseYaml(env));
  });
});

describe('output blocks', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'refgraph-readme-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the config error shown is what the loader says for a bad kind', () => {
    const shown = byLang('')
      .map((b) => b.body.trim())
      .filter((t) => t.startsWith('refgraph: '));
    expect(shown).toHaveLength(1);
    const file = join(dir, 'refgraph.yaml');
    writeFileSync(file, 'registries:\n  - name: local\n    kind: nosuch\n    url: http://127.0.0.1:5000\n');
    let message = '';
    try {
      loadConfig({ REFGRAPH_CONFIG: file });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = `refgraph: ${(err as Error).message}`.replace(file, 'refgraph.yaml');
    }
    const [prefix] = shown[0]!.split('...');
    expect(message.startsWith(prefix!)).toBe(true);
  });

  it('every other output block is CLI error lines, each one a message template of the CLI source', () => {
    const others = byLang('').filter((b) => !b.body.trim().startsWith('refgraph: '));
    expect(others.length).toBeGreaterThan(0);
    const source = readFileSync('apps/cli/src/http.ts', 'utf8');
    // Template literals of the source, `${...}` read as "anything".
    const templates = [...source.matchAll(/`((?:\\`|[^`])*)`/g)].map(
      (m) =>
        new RegExp(
          `^${m[1]!
            .replace(/\\`/g, '`')
            .split(/\$\{[^}]*\}/)
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
    );
    for (const b of others) {
      for (const line of b.body.trim().split('\n')) {
        expect([at(b), line.startsWith('error: ')]).toEqual([at(b), true]);
        const message = line.slice('error: '.length);
        expect([at(b), message, templates.some((t) => t.test(message))]).toEqual([at(b), message, true]);
      }
    }
  });
});

describe('sh blocks', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  const commands = byLang('sh').flatMap((b) =>
    b.body
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean)
      .flatMap((l) => l.split('&&').map((c) => [at(b), c.trim()] as const)),
  );

  it.each(commands)('%s: `%s` is an npm command this package has', (_, command) => {
    const words = command.split(/\s+/);
    expect(words[0]).toBe('npm');
    const [verb, script] = words.slice(1);
    if (verb === 'run') expect(Object.keys(scripts)).toContain(script);
    else if (verb === 'test' || verb === 'start') expect(Object.keys(scripts)).toContain(verb);
    else expect(['ci', 'install']).toContain(verb);
  });
});

describe('CLI invocations', () => {
  // `refgraph <command> …` spans; `npx refgraph <command>` is the generic form.
  const invocations = readmeInlineCode()
    .filter((c) => /^refgraph [a-z]/.test(c))
    .map((c) => ({
      text: c,
      command: c.split(/\s+/)[1]!,
      flags: [...c.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]),
    }));
  const help = new Map<string, string>();

  beforeAll(async () => {
    await ensureBuilt();
  }, 240_000);

  it('the README shows every command the CLI has', () => {
    const res = spawnSync(process.execPath, ['bin/refgraph.js', '--help'], { encoding: 'utf8' });
    expect(res.status).toBe(0);
    const listed = [...res.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
      .map((m) => m[1]!)
      .filter((c) => c !== 'help');
    expect(listed.length).toBeGreaterThanOrEqual(5);
    expect([...new Set(invocations.map((i) => i.command))].sort()).toEqual([...listed].sort());
  });

  // `refgraph --help`, `refgraph --version`: the program's own options, each run.
  const options = readmeInlineCode().filter((c) => /^refgraph --[a-z]+$/.test(c));

  it.each(options)('`%s` exits 0 and prints something', (text) => {
    expect(options.length).toBeGreaterThanOrEqual(2);
    const res = spawnSync(process.execPath, ['bin/refgraph.js', text.split(' ')[1]!], { encoding: 'utf8' });
    expect([res.status, res.stderr, res.stdout.trim().length > 0]).toEqual([0, '', true]);
    if (text.endsWith('--version')) {
      const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
      expect(res.stdout.trim()).toContain(version);
    }
  });

  it.each(invocations.map((i) => [i.text, i] as const))('`%s`: command and flags exist', (_, inv) => {
    if (!help.has(inv.command)) {
      const res = spawnSync(process.execPath, ['bin/refgraph.js', inv.command, '--help'], {
        encoding: 'utf8',
      });
      expect([res.status, res.stderr]).toEqual([0, '']);
      help.set(inv.command, res.stdout);
    }
    const text = help.get(inv.command)!;
    for (const flag of inv.flags) expect([flag, new RegExp(`${flag}\\b`).test(text)]).toEqual([flag, true]);
  });
});
