import { summarizeStatement } from './attestation.js';
import { parseDsseEnvelope, parseStatement, statementFromJson, statementNames } from './intoto.js';

const digest = `sha256:${'ab'.repeat(32)}`;
const statement = (predicateType: string, predicate: unknown, type = 'https://in-toto.io/Statement/v1') =>
  statementFromJson({
    _type: type,
    subject: [{ name: 'img', digest: { sha256: 'AB'.repeat(32) } }],
    predicateType,
    predicate,
  });

describe('in-toto statements', () => {
  it('v0.1 and v1 parse; subjects bind by algorithm, case-insensitively', () => {
    const st = statement('x', {}, 'https://in-toto.io/Statement/v0.1');
    expect(statementNames(st, digest)).toBe(true);
    expect(statementNames(st, `sha512:${'ab'.repeat(64)}`)).toBe(false);
    expect(statementNames(st, `sha256:${'cd'.repeat(32)}`)).toBe(false);
  });

  it('v1.1/v1.2 generalised DigestSet: sha512 and git subjects bind; identifiers of other algorithms stay verbatim', () => {
    const st = statementFromJson({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [
        { name: 'pkg:npm/app@1.0.0', digest: { sha512: 'EF'.repeat(64) } },
        { uri: 'git+https://github.com/acme/app', digest: { gitCommit: 'C0FFEE'.repeat(6) + 'AB' } },
        { name: 'dataset', digest: { swhid: 'swh:1:dir:ABC' } },
      ],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    });
    expect(st.subjects.map((s) => s.digest)).toEqual([
      { sha512: 'ef'.repeat(64) },
      { gitCommit: 'c0ffee'.repeat(6) + 'ab' },
      { swhid: 'swh:1:dir:ABC' },
    ]);
    expect(statementNames(st, `sha512:${'EF'.repeat(64)}`)).toBe(true);
    expect(statementNames(st, digest)).toBe(false);
  });

  it('refuses unknown statement types, missing predicate types and subjects', () => {
    expect(() => parseStatement(Buffer.from('{"_type":"x","predicateType":"p","subject":[]}'))).toThrow(
      /unknown in-toto statement type/,
    );
    expect(() => statementFromJson({ _type: 'https://in-toto.io/Statement/v1', subject: [] })).toThrow(
      /predicateType/,
    );
    expect(() => parseStatement(Buffer.from('not json'))).toThrow(/not valid JSON/);
  });

  it('DSSE envelopes decode payload and signatures', () => {
    const env = parseDsseEnvelope(
      Buffer.from(
        JSON.stringify({
          payloadType: 'application/vnd.in-toto+json',
          payload: Buffer.from('{}').toString('base64'),
          signatures: [{ keyid: '', sig: 'AQID' }],
        }),
      ),
    );
    expect(env.payload.toString()).toBe('{}');
    expect(env.signatures[0]!.sig).toEqual(Buffer.from([1, 2, 3]));
  });

  it.each([
    ['payload', { payload: 'e30*', signatures: [{ sig: 'AQID' }] }, /payload is not valid base64/],
    ['a signature', { payload: 'e30=', signatures: [{}, { sig: 'AQ ID' }] }, /signatures\[1\]\.sig is not/],
  ])('refuses a DSSE envelope whose %s is not base64, rather than decoding what survives', (_n, doc, why) => {
    const bytes = Buffer.from(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', ...doc }));
    expect(() => parseDsseEnvelope(bytes)).toThrow(why);
  });
});

describe('summarizeStatement', () => {
  it('SLSA v0.2 (slsa-github-generator): builder, build type, source from configSource', () => {
    const s = summarizeStatement(
      statement('https://slsa.dev/provenance/v0.2', {
        builder: { id: 'https://github.com/slsa-framework/slsa-github-generator/x.yml@refs/tags/v1' },
        buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
        invocation: {
          configSource: {
            uri: 'git+https://github.com/acme/app@refs/heads/main',
            digest: { sha1: 'c'.repeat(40) },
          },
        },
      }),
    );
    expect(s).toEqual({
      predicateType: 'https://slsa.dev/provenance/v0.2',
      builderId: 'https://github.com/slsa-framework/slsa-github-generator/x.yml@refs/tags/v1',
      buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
      sourceRepo: 'https://github.com/acme/app',
      sourceRevision: 'c'.repeat(40),
    });
  });

  it('SLSA v1 (BuildKit): source from the vcs metadata when there is no git dependency', () => {
    const s = summarizeStatement(
      statement('https://slsa.dev/provenance/v1', {
        buildDefinition: {
          buildType: 'https://mobyproject.org/buildkit@v1',
          resolvedDependencies: [{ uri: 'pkg:docker/alpine@3' }],
        },
        runDetails: {
          builder: { id: 'https://github.com/acme/app/actions/runs/1' },
          metadata: {
            buildkit_metadata: {
              vcs: { source: 'https://github.com/acme/app.git', revision: 'd'.repeat(40) },
            },
          },
        },
      }),
    );
    expect(s).toMatchObject({
      builderId: 'https://github.com/acme/app/actions/runs/1',
      sourceRepo: 'https://github.com/acme/app',
      sourceRevision: 'd'.repeat(40),
    });
  });

  it('SLSA v1.1 (GitHub Actions workflow build type): source from the workflow, revision from its git dependency', () => {
    const commit = 'a1b2c3d4'.repeat(5);
    const s = summarizeStatement(
      statement('https://slsa.dev/provenance/v1', {
        buildDefinition: {
          buildType: 'https://actions.github.io/buildtypes/workflow/v1',
          externalParameters: {
            workflow: {
              ref: 'refs/tags/v2.0.0',
              repository: 'https://github.com/acme/app',
              path: '.github/workflows/release.yml',
            },
          },
          internalParameters: {
            github: { event_name: 'push', repository_id: '1', repository_owner_id: '2' },
          },
          resolvedDependencies: [
            // a second checkout listed first: the workflow's own repository is the source
            {
              uri: 'git+https://github.com/acme/shared-actions@refs/heads/main',
              digest: { gitCommit: 'f'.repeat(40) },
            },
            { uri: 'git+https://github.com/acme/app@refs/tags/v2.0.0', digest: { gitCommit: commit } },
          ],
        },
        runDetails: {
          builder: { id: 'https://github.com/actions/runner/github-hosted', version: { runner: '2.321.0' } },
          metadata: { invocationId: 'https://github.com/acme/app/actions/runs/9/attempts/1' },
        },
      }),
    );
    expect(s).toEqual({
      predicateType: 'https://slsa.dev/provenance/v1',
      builderId: 'https://github.com/actions/runner/github-hosted',
      buildType: 'https://actions.github.io/buildtypes/workflow/v1',
      sourceRepo: 'https://github.com/acme/app',
      sourceRevision: commit,
    });
  });

  it('SLSA v1.2: a git dependency named by its commit digest only; an externalParameters source URI', () => {
    const commit = '0123456789abcdef'.repeat(2) + '01234567';
    expect(
      summarizeStatement(
        statement('https://slsa.dev/provenance/v1', {
          buildDefinition: {
            buildType: 'https://example.test/buildtypes/make/v1',
            externalParameters: {},
            resolvedDependencies: [
              { uri: 'pkg:oci/base@sha256:' + 'b'.repeat(64), digest: { sha256: 'b'.repeat(64) } },
              { uri: 'https://git.example.test/acme/lib', digest: { gitCommit: commit } },
            ],
          },
          runDetails: { builder: { id: 'https://ci.example.test/builders/hosted' } },
        }),
      ),
    ).toMatchObject({ sourceRepo: 'https://git.example.test/acme/lib', sourceRevision: commit });
    expect(
      summarizeStatement(
        statement('https://slsa.dev/provenance/v1', {
          buildDefinition: {
            buildType: 'https://example.test/buildtypes/pipeline/v1',
            externalParameters: { source: 'git+https://gitlab.example.test/acme/app.git@refs/tags/v3.1.0' },
          },
          runDetails: { builder: { id: 'https://gitlab.example.test/runners/7' } },
        }),
      ),
    ).toMatchObject({
      builderId: 'https://gitlab.example.test/runners/7',
      buildType: 'https://example.test/buildtypes/pipeline/v1',
      sourceRepo: 'https://gitlab.example.test/acme/app',
      sourceRevision: 'refs/tags/v3.1.0',
    });
  });

  it('vulnerability reports count by severity; OpenVEX counts by status', () => {
    const trivy = {
      Results: [
        { Vulnerabilities: [{ Severity: 'HIGH' }, { Severity: 'CRITICAL' }, { Severity: 'HIGH' }] },
        { Target: 'none' },
      ],
    };
    expect(
      summarizeStatement(
        statement('https://cosign.sigstore.dev/attestation/vuln/v1', { scanner: { result: trivy } }),
      ).vulnCounts,
    ).toEqual({
      high: 2,
      critical: 1,
    });
    const vex = {
      '@context': 'https://openvex.dev/ns/v0.2.0',
      statements: [{ status: 'not_affected' }, { status: 'affected' }, { status: 'not_affected' }],
    };
    expect(summarizeStatement(statement('https://openvex.dev/ns', vex)).vulnCounts).toEqual({
      not_affected: 2,
      affected: 1,
    });
    expect(summarizeStatement(statement('https://example.test/other', { a: 1 })).vulnCounts).toBeUndefined();
  });
});
