import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseSbom } from './sbom.js';

/**
 * SBOMs written by the real `npm sbom` (CycloneDX and SPDX 2.3) over a fixture project built here:
 * a package with two installed dependencies, one scoped, one under a licence expression. npm reads
 * the installed tree offline; nothing is fetched.
 */

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'refgraph-npm-sbom-'));
  const write = async (path: string, json: unknown) => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), JSON.stringify(json));
  };
  await write('package.json', {
    name: 'fixture-app',
    version: '1.0.0',
    license: 'MIT',
    dependencies: { 'left-pad': '1.3.0', '@scope/util': '2.0.0' },
  });
  await write('node_modules/left-pad/package.json', { name: 'left-pad', version: '1.3.0', license: 'WTFPL' });
  await write('node_modules/@scope/util/package.json', {
    name: '@scope/util',
    version: '2.0.0',
    license: '(MIT OR Apache-2.0)',
  });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function npmSbom(format: 'cyclonedx' | 'spdx'): Promise<unknown> {
  const { stdout } = await run('npm', ['sbom', '--sbom-format', format, '--offline'], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as unknown;
}

const dependencies = [
  {
    name: '@scope/util',
    version: '2.0.0',
    purl: 'pkg:npm/%40scope/util@2.0.0',
    purlBase: 'pkg:npm/%40scope/util',
    licenses: ['(MIT OR Apache-2.0)'],
  },
  {
    name: 'left-pad',
    version: '1.3.0',
    purl: 'pkg:npm/left-pad@1.3.0',
    purlBase: 'pkg:npm/left-pad',
    licenses: ['WTFPL'],
  },
];

describe('npm sbom output', () => {
  it('CycloneDX: the installed dependencies with purls and licences', async () => {
    const doc = parseSbom(await npmSbom('cyclonedx'));
    expect(doc.format).toBe('cyclonedx');
    expect(doc.specVersion).toMatch(/^1\.\d+$/);
    expect(doc.packages).toEqual(dependencies);
  }, 60_000);

  it('SPDX 2.3: the root package and the same dependencies', async () => {
    const doc = parseSbom(await npmSbom('spdx'));
    expect(doc).toMatchObject({ format: 'spdx', specVersion: '2.3', name: 'fixture-app@1.0.0' });
    const byName = new Map(doc.packages.map((p) => [p.name, p]));
    expect(byName.get('fixture-app')).toMatchObject({ purl: 'pkg:npm/fixture-app@1.0.0' });
    for (const dep of dependencies) {
      expect(byName.get(dep.name)).toMatchObject({
        version: dep.version,
        purl: dep.purl,
        purlBase: dep.purlBase,
        licenses: dep.licenses,
      });
    }
    expect(doc.packages).toHaveLength(3);
  }, 60_000);
});
