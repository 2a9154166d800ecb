import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { configSchema, defaultTufCacheDir } from '#config';
import { embeddedDataDir } from '#store';
import { FAILURE_REASONS } from '#verify';
import { DEFAULT_URL } from '../../apps/cli/src/http.js';
import { readmeBlocks, readmeInlineCode, readmeProse } from './readme.js';

/**
 * What README.md and docs/operations.md state as fact, read from their text so that a new
 * statement of the same form is checked too: the files they name exist, the upper-case names they
 * write (environment variables, error codes) are the project's, the verdict codes and
 * verification reasons are the code's, and every documented default is the config schema's.
 * Behaviour over HTTP (endpoints, metrics) is checked in test/e2e/readme.e2e.spec.ts.
 */
const DOCS = ['README.md', 'docs/operations.md'];

/** Product sources: what a name must appear in to be the project's. */
const SOURCES = execFileSync(
  'git',
  ['ls-files', 'apps', 'libs', 'bin', 'bench', 'scripts', 'Dockerfile', 'docker-compose.yml', 'deploy'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => f && !/\.(spec|e2e)\.|\/generated\/|\.png$/.test(f))
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

describe.each(DOCS)('%s', (doc) => {
  const spans = readmeInlineCode(doc);

  it('every repository path it names exists, and so does every file it links', () => {
    const top = new Set(
      execFileSync('git', ['ls-files'], { encoding: 'utf8' })
        .split('\n')
        .map((f) => f.split('/')[0]!),
    );
    const paths = spans.filter((s) => /^[\w.-]+(\/[\w.-]*)*$/.test(s) && top.has(s.split('/')[0]!));
    expect(paths.length).toBeGreaterThan(3);
    const links = [...readmeProse(doc).matchAll(/\]\(([^)#\s]+)[^)]*\)/g)]
      .map((m) => m[1]!)
      .filter((l) => !/^[a-z]+:/.test(l))
      .map((l) => join(dirname(doc), l));
    for (const p of [...paths, ...links]) expect([p, existsSync(p)]).toEqual([p, true]);
  });

  it('every upper-case name it writes (variable, error code) is spelled in the product sources', () => {
    // Names that belong to other programs, or that the README's own examples define.
    const yamlBlocks = readmeBlocks(doc)
      .filter((b) => b.lang === 'yaml')
      .map((b) => b.body)
      .join('\n');
    const OTHERS = new Set(['COSIGN_REPOSITORY']);
    const names = [
      ...new Set(
        spans.flatMap((s) => [...s.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)].map((m) => m[0])),
      ),
    ];
    expect(names.length).toBeGreaterThan(doc === 'README.md' ? 20 : 3);
    for (const n of names) {
      const known = OTHERS.has(n) || new RegExp(`\\b${n}\\b`).test(SOURCES) || yamlBlocks.includes(n);
      expect([n, known]).toEqual([n, true]);
    }
  });

  it('every default it documents is the one configuration and code apply', () => {
    const found = documentedDefaults(doc);
    expect(found.length).toBeGreaterThan(doc === 'README.md' ? 15 : 2);
    for (const d of found) {
      // A documented directory is relative to the working directory.
      const documented = d.name === 'REFGRAPH_DATA_DIR' ? resolve(d.value as string) : d.value;
      const actual = d.name === 'REFGRAPH_DATA_DIR' ? embeddedDataDir({}) : actualDefault(d.name);
      expect([d.name, d.text, actual]).toEqual([d.name, d.text, documented]);
    }
  });
});

/** A name written as `name` followed by "(default X)", ", default X" or "(N)". */
function documentedDefaults(doc: string): { name: string; text: string; value: unknown }[] {
  const text = readmeProse(doc).replace(/\s*\n\s*/g, ' ');
  const value = '(\\d+(?:,\\d{3})*(?: MiB)?|`[^`]+`|none)';
  const patterns = [
    new RegExp(`\`([\\w.]+)\`(?: layers)?,? \\(?(?:[^()\`]{0,40}; )?default:? ${value}`, 'g'),
    new RegExp(`\`([\\w.]+)\`(?: / \`[\\w.]+\`)? \\((\\d+(?:,\\d{3})*)[),]`, 'g'),
  ];
  return patterns.flatMap((re) =>
    [...text.matchAll(re)].map((m) => ({ name: m[1]!, text: m[0], value: parseValue(m[2]!) })),
  );
}

function parseValue(v: string): unknown {
  if (v === 'none') return [];
  if (v.startsWith('`')) return v.slice(1, -1);
  const mib = /^(\d+) MiB$/.exec(v);
  if (mib) return Number(mib[1]) * 1024 * 1024;
  return Number(v.replace(/,/g, ''));
}

/** Every default of the config schema by dotted path, with the optional trust.tuf section present. */
const DEFAULTS = flatten(configSchema.parse({ trust: { tuf: {} } }));

function flatten(o: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (o && typeof o === 'object' && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) for (const [p, x] of flatten(v, `${prefix}${k}.`)) out.set(p, x);
  } else out.set(prefix.slice(0, -1), o);
  return out;
}

/** Names that are not config paths: environment variables and derived locations. */
const OUTSIDE_SCHEMA: Record<string, () => unknown> = {
  REFGRAPH_URL: () => DEFAULT_URL,
  LOG_LEVEL: () => DEFAULTS.get('server.logLevel'),
  // Written as "`tuf/` beside `REFGRAPH_DATA_DIR`".
  cacheDir: () =>
    defaultTufCacheDir({}) === join(dirname(embeddedDataDir({})), 'tuf') ? 'tuf/' : defaultTufCacheDir({}),
};

function actualDefault(name: string): unknown {
  const outside = OUTSIDE_SCHEMA[name];
  if (outside) return outside();
  if (DEFAULTS.has(name)) return DEFAULTS.get(name);
  // A bare leaf name (`queue`, `maxLagSeconds`) stands for the one config path ending in it.
  const paths = [...DEFAULTS.keys()].filter((p) => p.endsWith(`.${name}`));
  return paths.length === 1
    ? DEFAULTS.get(paths[0]!)
    : `no single config path for ${name}: ${paths.join(', ')}`;
}

describe('README.md codes', () => {
  const prose = readmeProse().replace(/\s*\n\s*/g, ' ');
  const codesIn = (text: string) => [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);

  it('the verdict codes listed are exactly the ones verdicts give', () => {
    const listed = /denied with a code: (.*?) Only a malformed request/.exec(prose)![1]!;
    const source = readFileSync('libs/answers/src/verdict.ts', 'utf8');
    const union = /export type VerdictCode =([^;]*);/.exec(source)![1]!;
    const codes = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(5);
    expect(codesIn(listed).sort()).toEqual(codes.sort());
  });

  it('the statuses and reasons table holds only statuses and reasons verification stores', () => {
    const md = readFileSync('README.md', 'utf8');
    const section = md.slice(
      md.indexOf('### Statuses and reasons'),
      md.indexOf('`docs/verification.md` describes'),
    );
    const rows = [...section.matchAll(/^\| `([a-z_]+)` +\| (.*?) +\|/gm)].map((m) => ({
      status: m[1]!,
      reasons: codesIn(m[2]!),
    }));
    expect(rows.length).toBeGreaterThan(10);
    const statuses = /export type SignatureStatus = ([^;]*);/.exec(
      readFileSync('libs/store/src/trust.repository.ts', 'utf8'),
    )![1]!;
    for (const r of rows) {
      expect([r.status, statuses.includes(`'${r.status}'`)]).toEqual([r.status, true]);
      for (const reason of r.reasons) {
        const known =
          r.status === 'failed'
            ? (FAILURE_REASONS as readonly string[]).includes(reason)
            : reason === r.status;
        expect([r.status, reason, known]).toEqual([r.status, reason, true]);
      }
    }
  });
});
