import { parseSbom, type SbomPackage } from '#verify';
import { corpusJson } from './trust-corpus.helpers.js';
import { describeListedFiles } from './sources-table.js';

/**
 * Every SBOM that `sboms/SOURCES.md` lists, parsed as the format its row declares, against facts read
 * from the file itself: the document name, how many packages and how many with a purl, and named
 * packages exactly as the service stores them.
 */

interface SbomExpectation {
  name: string | null;
  packages: number;
  withPurl: number;
  /** Packages looked up by name and compared whole. */
  some: SbomPackage[];
}

const pkg = (
  name: string,
  version: string | null,
  purl: string | null,
  purlBase: string | null,
  licenses: string[],
): SbomPackage => ({ name, version, purl, purlBase, licenses });

const EXPECTED: Record<string, SbomExpectation> = {
  'trivy-0.42.1_mageia-5.1.spdx.json': {
    name: 'mageia:5.1',
    packages: 183,
    withPurl: 182,
    some: [
      pkg('bash', '4.3-48.2.1.mga5', 'pkg:none/bash@4.3-48.2.1.mga5?arch=x86_64', 'pkg:none/bash', [
        'GPL-2.0-or-later',
      ]),
    ],
  },
  'trivy_fluentd-multiple-lockfiles.cdx.json': {
    name: 'testdata/fixtures/images/fluentd-multiple-lockfiles.tar.gz',
    packages: 161,
    withPurl: 160,
    some: [
      pkg('debian', '10.2', null, null, []),
      pkg('apt', '1.8.2', 'pkg:deb/debian/apt@1.8.2?arch=amd64&distro=debian-10.2', 'pkg:deb/debian/apt', [
        'GPL-2.0-or-later',
        'GPL-2.0-only',
      ]),
      pkg('fluentd', '1.8.0', 'pkg:gem/fluentd@1.8.0', 'pkg:gem/fluentd', ['Apache-2.0']),
    ],
  },
  'spdx-examples_example11_sbom.spdx3.json': {
    name: 'SBOM-SPDX-2d85f548-12fa-46d5-87ce-5e78e5e111f4',
    packages: 4,
    withPurl: 4,
    some: [
      pkg(
        'hello-server-src',
        '0.1.0',
        'pkg:deb/debian/libselinux1-dev@3.1-3?arch=s390x',
        'pkg:deb/debian/libselinux1-dev',
        ['Apache-2.0'],
      ),
      // concluded MIT, declared NOASSERTION: only the licence that says something is kept
      pkg('hyper', '0.14', 'pkg:cargo/hyper@0.14', 'pkg:cargo/hyper', ['MIT']),
      pkg('pretty_env_logger', '0.4.0', 'pkg:cargo/pretty_env_logger@0.4.0', 'pkg:cargo/pretty_env_logger', [
        '(MIT OR Apache-2.0)',
      ]),
    ],
  },
  'spdx-examples_example9_appbomination.spdx3.json': {
    name: 'SpdxDoc for App-BOM-ination',
    packages: 7,
    withPurl: 4,
    some: [
      pkg('App-BOM-ination', '1.0', null, null, ['(Apache-2.0 AND LicenseRef-1)', 'Apache-2.0']),
      pkg('Faust Proprietary File', null, null, null, ['LicenseRef-1']),
      pkg(
        'hamcrest-core',
        '1.3',
        'pkg:maven/org.hamcrest/hamcrest-core@1.3',
        'pkg:maven/org.hamcrest/hamcrest-core',
        ['BSD-3-Clause'],
      ),
      pkg('junit', '4.12', 'pkg:maven/junit/junit@4.12', 'pkg:maven/junit/junit', ['EPL-1.0']),
    ],
  },
  'cyclonedx-specification_valid-bom-1.7.cdx.json': {
    name: 'Acme Application',
    packages: 3,
    withPurl: 3,
    some: [
      pkg(
        'tomcat-catalina',
        '9.0.14',
        'pkg:maven/com.acme/tomcat-catalina@9.0.14?packaging=jar',
        'pkg:maven/com.acme/tomcat-catalina',
        ['Apache-2.0'],
      ),
      pkg(
        'mylibrary',
        '1.0.0',
        'pkg:maven/com.example/myapplication@1.0.0?packaging=war',
        'pkg:maven/com.example/myapplication',
        ['EPL-2.0 OR GPL-2.0-with-classpath-exception'],
      ),
      pkg(
        'myframework',
        '1.0.0',
        'pkg:maven/com.example/myframework@1.0.0?packaging=war',
        'pkg:maven/com.example/myframework',
        ['Some random license'],
      ),
    ],
  },
  'cyclonedx-javascript-library_json_sortedLists_spec1.7.cdx.json': {
    name: 'Root Component',
    // 9 top-level components and the two that SomeFrameworkBundle nests
    packages: 11,
    withPurl: 1,
    some: [
      pkg('component-with-licenseExpression', null, null, null, ['(MIT OR Apache-2.0)']),
      pkg('component-with-licenses', null, null, null, [
        'something',
        'Apache-2.0',
        'MIT',
        'unknown SPDX license',
      ]),
      pkg(
        'dummy-component',
        '1337-beta',
        'pkg:npm/acme/dummy-component@1337-beta',
        'pkg:npm/acme/dummy-component',
        ['some other', 'MIT'],
      ),
      pkg('SomeFrameworkBundle', null, null, null, []),
      pkg('SubComponentA', null, null, null, []),
      pkg('SubComponentB', null, null, null, []),
    ],
  },
  'trivy_npm.cdx.json': {
    name: 'testdata/fixtures/repo/npm',
    packages: 13,
    withPurl: 12,
    some: [
      pkg('package-lock.json', null, null, null, []),
      pkg('jquery', '3.3.9', 'pkg:npm/jquery@3.3.9', 'pkg:npm/jquery', ['MIT']),
      pkg('asap', '2.0.6', 'pkg:npm/asap@2.0.6', 'pkg:npm/asap', []),
    ],
  },
};

describeListedFiles('sboms', EXPECTED, (row, expected) => {
  const declared = /^(spdx|cyclonedx)-(\d+\.\d+(?:\.\d+)?)$/.exec(row.format);
  expect(declared).not.toBeNull(); // an SBOM format: spdx-<version> or cyclonedx-<specVersion>
  const doc = parseSbom(corpusJson('sboms', row.file));
  expect({ format: doc.format, specVersion: doc.specVersion }).toEqual({
    format: declared![1],
    specVersion: declared![2],
  });
  expect(doc.name).toBe(expected.name);
  expect(doc.packages).toHaveLength(expected.packages);
  expect(doc.packages.filter((p) => p.purl !== null)).toHaveLength(expected.withPurl);
  for (const want of expected.some) {
    expect(doc.packages.filter((p) => p.name === want.name)).toEqual([want]);
  }
});
