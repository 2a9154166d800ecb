import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MediaType, parseManifest } from '#oci';
import { buildManifest } from '#testing';
import { createTestPki } from './notation/pki.test.js';
import { planLayers } from './plan.js';
import { STAGING_TRUSTED_ROOT } from './staging-trusted-root.js';
import { TrustPolicy } from './trust-policy.js';
import { TrustRoot } from './trust-root.js';

describe('TrustPolicy', () => {
  const base = {
    trustedRoot: 'public-good',
    authorities: [
      { name: 'ci', keyless: { issuer: 'https://issuer.test', subjectRegExp: 'https://ci\\.test/.*' } },
      { name: 'other', keyless: { issuer: 'https://issuer.test', subject: 'a@b.test' } },
    ],
    repositories: [
      { pattern: 'local/team/**', authorities: ['other'] },
      { pattern: 'local/**', authorities: ['ci', 'other'] },
    ],
  };

  it('first matching pattern wins; none matching means no authority', async () => {
    const p = await TrustPolicy.load(base);
    expect(p.authoritiesFor('local', 'team/app').map((a) => a.name)).toEqual(['other']);
    expect(p.authoritiesFor('local', 'app').map((a) => a.name)).toEqual(['ci', 'other']);
    expect(p.authoritiesFor('ghcr', 'app')).toEqual([]);
    expect(p.authoritiesFor('local', 'app')[0]).toMatchObject({
      kind: 'keyless',
      policy: { certificateIssuer: 'https://issuer.test', certificateIdentityRegExp: 'https://ci\\.test/.*' },
    });
  });

  it('has a stable version that changes with the configuration', async () => {
    const a = await TrustPolicy.load(base);
    const b = await TrustPolicy.load(structuredClone(base));
    const c = await TrustPolicy.load({ ...base, repositories: base.repositories.slice(1) });
    expect(a.version).toBe(b.version);
    expect(a.version).not.toBe(c.version);
  });

  it("the version follows the trusted root's content, wherever the root came from", async () => {
    const embedded = await TrustPolicy.load(base);
    const sameContent = TrustRoot.fromJSON(JSON.parse(JSON.stringify(STAGING_TRUSTED_ROOT)), 'a file');
    const staging = embedded.withTrustRoot(sameContent);
    expect(staging.version).not.toBe(embedded.version);
    expect(staging.trustRoot).toBe(sameContent);
    // Same content under another name (a TUF refresh that changed nothing): same version.
    expect(embedded.withTrustRoot(TrustRoot.fromJSON(STAGING_TRUSTED_ROOT, 'tuf')).version).toBe(
      staging.version,
    );
    expect(staging.withTrustRoot(embedded.trustRoot).version).toBe(embedded.version);
    expect(staging.authoritiesFor('local', 'app').map((a) => a.name)).toEqual(['ci', 'other']);
  });
});

describe('TrustPolicy notation authorities', () => {
  it('reads PEM and DER store files as PEM, tsa stores included, and versions their contents', async () => {
    const pki = createTestPki();
    const dir = mkdtempSync(path.join(tmpdir(), 'trust-policy-'));
    try {
      writeFileSync(path.join(dir, 'root.pem'), pki.root.pem);
      writeFileSync(path.join(dir, 'tsa.cer'), pki.otherRoot.der);
      const notation = (tsa: string) => ({
        trustedRoot: 'public-good',
        authorities: [
          {
            name: 'n',
            notation: {
              trustStore: [path.join(dir, 'root.pem')],
              trustedIdentities: ['*'],
              tsaTrustStore: [path.join(dir, tsa)],
              verifyTimestamp: 'afterCertExpiry' as const,
            },
          },
        ],
        repositories: [{ pattern: 'local/**', authorities: ['n'] }],
      });
      const policy = await TrustPolicy.load(notation('tsa.cer'));
      const [authority] = policy.authoritiesFor('local', 'app');
      expect(authority).toMatchObject({
        kind: 'notation',
        trustStore: [pki.root.pem],
        verifyTimestamp: 'afterCertExpiry',
      });
      const tsaPem = authority!.kind === 'notation' ? authority!.tsaTrustStore![0]! : '';
      expect(new X509Certificate(tsaPem).raw.equals(pki.otherRoot.der)).toBe(true);
      writeFileSync(path.join(dir, 'tsa2.pem'), pki.root.pem);
      expect((await TrustPolicy.load(notation('tsa2.pem'))).version).not.toBe(policy.version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('planLayers', () => {
  it('picks signature, attestation and SBOM layers; repeated layer digests get distinct keys', () => {
    const layer = (mediaType: string, content: string, annotations?: Record<string, string>) => {
      const bytes = Buffer.from(content);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      return { mediaType, digest, size: bytes.length, ...(annotations ? { annotations } : {}) };
    };
    const sig = layer(MediaType.CosignSimpleSigning, 'payload');
    const m = buildManifest({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${'1'.repeat(64)}`,
        size: 2,
      },
      layers: [
        sig,
        sig,
        layer('application/vnd.oci.image.layer.v1.tar+gzip', 'x'),
        layer('application/spdx+json', 's'),
        layer('text/spdx+xml', 'x2'),
      ],
    });
    const tasks = planLayers(parseManifest(m.bytes, m.digest));
    expect(tasks.map((t) => [t.action, t.key])).toEqual([
      ['cosign-simplesigning', sig.digest],
      ['cosign-simplesigning', `${sig.digest}#1`],
      ['sbom', expect.stringMatching(/^sha256:/)],
    ]);
  });
});
