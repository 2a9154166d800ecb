import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPrerequisites } from '../../libs/testing/src/global-setup.js';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'refgraph-prereq-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function list(packages: Array<{ package: string; file: string }>): string {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ packages }));
  return file;
}

describe('npm test prerequisites', () => {
  it('names every missing package in one apt-get line', () => {
    const file = list([
      { package: 'present', file: process.execPath },
      { package: 'skopeo', file: join(dir, 'no-skopeo') },
      { package: 'chromium', file: join(dir, 'no-chromium') },
    ]);
    expect(() => checkPrerequisites(file)).toThrow(
      new Error(
        `refgraph tests need Debian packages that are not installed (${join(dir, 'no-skopeo')}, ${join(dir, 'no-chromium')} missing). Install them with:\n\n` +
          '  apt-get install -y skopeo chromium\n',
      ),
    );
  });

  it('passes when everything is there', () => {
    expect(() => checkPrerequisites(list([{ package: 'node', file: process.execPath }]))).not.toThrow();
  });

  it('lists the programs the suites run, and .ci/run installs from the same list', () => {
    const files = (
      JSON.parse(readFileSync('test/prerequisites.json', 'utf8')) as { packages: Array<{ file: string }> }
    ).packages.map((p) => p.file);
    expect(files).toEqual(
      expect.arrayContaining(['/usr/bin/docker-registry', '/usr/bin/skopeo', '/usr/bin/chromium']),
    );
    expect(readFileSync('.ci/run', 'utf8')).toContain('test/prerequisites.json');
  });
});
