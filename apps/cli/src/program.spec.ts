import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startMockSigstore, type MockSigstore } from '#testing';
import { fit as fitLine, shortDigest, shortType } from './format.js';
import { main } from './program.js';

const ISSUER = 'https://token.actions.example.test';
const IDENTITY = 'https://example.test/org/repo/.github/workflows/release.yml@refs/heads/main';
const ARTIFACT = Buffer.from('refgraph cli test artifact\n');

async function run(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const code = await main(['node', 'refgraph', ...args], {
    stdout: sink((s) => (out += s)),
    stderr: sink((s) => (err += s)),
    env,
  });
  return { code, out, err };
}

describe('refgraph --version and --help', () => {
  it('prints the package version', async () => {
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' });
  });

  it('documents the flags, the environment and the exit codes', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    for (const s of ['--url <url>', '--token <token>', 'REFGRAPH_URL', 'REFGRAPH_TOKEN', 'REFGRAPH_DATA_DIR'])
      expect(out).toContain(s);
    expect(out).toMatch(
      /Exit codes:\n {2}0 {2}ok.*\n {2}1 {2}denied or untrusted.*\n {2}2 {2}usage or error/,
    );
    const sub = await run(['tree', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.out).toContain('--wide');
    expect(sub.out).toContain('Exit codes:');
  });

  it('exits 2 on usage errors, naming them', async () => {
    expect((await run(['tree'])).code).toBe(2);
    expect((await run(['no-such-command'])).code).toBe(2);
    expect(await run(['tree', 'local/app:v1', '--depth', '99'])).toMatchObject({
      code: 2,
      err: 'usage: --depth must be an integer from 1 to 8\n',
    });
    expect(await run(['--url', 'ftp://x', 'verify', 'local/app:v1'])).toMatchObject({
      code: 2,
      err: 'usage: --url must be an http(s) URL, not "ftp://x"\n',
    });
  });

  it('takes -o text|wide|json on every command that prints an answer, naming what a command cannot print', async () => {
    for (const command of ['tree', 'verify', 'verdict'])
      expect((await run([command, '--help'])).out).toMatch(/-o, --output <format> +text, wide, json/);
    for (const command of ['sync', 'verify-bundle'])
      expect((await run([command, '--help'])).out).toMatch(/-o, --output <format> +text, json/);
    expect(await run(['verify', 'local/app:v1', '-o', 'yaml'])).toMatchObject({
      code: 2,
      err: 'usage: --output must be text, wide, json\n',
    });
    expect(await run(['verdict', 'local/app:v1', '--policy', 'p', '-o', 'yaml'])).toMatchObject({
      code: 2,
      err: 'usage: --output must be text, wide, json\n',
    });
    expect(await run(['sync', 'local', '-o', 'wide'])).toMatchObject({
      code: 2,
      err: 'usage: --output must be text, json\n',
    });
  });
});

describe('compact layout', () => {
  it('shortens digests and types, and fits lines', () => {
    const d = `sha256:${'0123abcd'.repeat(8)}`;
    expect(shortDigest(d)).toBe('sha256:0123abcd…');
    expect(shortDigest(d, true)).toBe(d);
    expect(shortType('application/vnd.dev.sigstore.bundle.v0.3+json')).toBe('sigstore bundle');
    expect(shortType('application/vnd.example.thing')).toBe('example.thing');
    expect(shortType(null)).toBe('-');
    expect(fitLine('x'.repeat(150))).toHaveLength(100);
    expect(fitLine('x'.repeat(150)).endsWith('…')).toBe(true);
    expect(fitLine('short')).toBe('short');
  });
});

describe('refgraph verify-bundle', () => {
  let mock: MockSigstore;
  let dir: string;
  const files = { artifact: '', bundle: '', root: '' };

  beforeAll(async () => {
    mock = await startMockSigstore();
    dir = await mkdtemp(join(tmpdir(), 'refgraph-cli-bundle-'));
    files.artifact = join(dir, 'artifact.txt');
    files.bundle = join(dir, 'artifact.sigstore.json');
    files.root = join(dir, 'trusted_root.json');
    await writeFile(files.artifact, ARTIFACT);
    await writeFile(
      files.bundle,
      JSON.stringify(await mock.signMessage(ARTIFACT, { subject: IDENTITY, issuer: ISSUER })),
    );
    await writeFile(files.root, JSON.stringify(mock.trustedRoot));
  });

  afterAll(async () => {
    await mock?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const verify = (identity: string, extra: string[] = []) =>
    run([
      'verify-bundle',
      ...extra,
      '--bundle',
      files.bundle,
      '--certificate-identity',
      identity,
      '--certificate-oidc-issuer',
      ISSUER,
      '--trusted-root',
      files.root,
      files.artifact,
    ]);

  it('prints one OK line on success and nothing on stderr', async () => {
    const r = await verify(IDENTITY);
    expect(r).toEqual({
      code: 0,
      out: expect.stringMatching(
        new RegExp(
          `^OK: ${files.artifact} signed by ${IDENTITY} \\(issuer ${ISSUER}\\), transparency log entry \\d+\\n$`,
        ),
      ),
      err: '',
    });
  });

  it('prints the whole result as one JSON line with -o json, the same as --json', async () => {
    const long = await verify(IDENTITY, ['-o', 'json']);
    const short = await verify(IDENTITY, ['--json']);
    expect(long.code).toBe(0);
    expect(long.err).toBe('');
    expect(JSON.parse(long.out)).toMatchObject({ status: 'verified', identity: IDENTITY, issuer: ISSUER });
    expect(short).toEqual(long);
  });

  it('exits 1 with the reason on one stderr line when the signer is not the one required', async () => {
    const r = await verify('https://example.test/someone/else');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^identity_mismatch: .+\n$/);
  });
});
