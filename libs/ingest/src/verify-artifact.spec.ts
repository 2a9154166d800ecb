import type { TrustRepository } from '#store';
import { CurrentTrust, TrustPolicy } from '#verify';
import { ArtifactVerifier } from './verify-artifact.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

describe('ArtifactVerifier', () => {
  it('skips, rather than retries, a stored manifest whose bytes do not match its digest', async () => {
    const writes: string[] = [];
    const trust = {
      findArtifact: (digest: string) =>
        Promise.resolve({
          digest,
          kind: 'signature',
          mediaType: OCI_MANIFEST,
          manifest: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] })),
        }),
      findSubjects: () => Promise.reject(new Error('must not be reached')),
      upsertSignatures: () => {
        writes.push('signatures');
        return Promise.resolve();
      },
    } as unknown as TrustRepository;
    const policy = await TrustPolicy.load({ trustedRoot: 'public-good', authorities: [], repositories: [] });
    const verifier = new ArtifactVerifier(trust, new CurrentTrust(policy), () => undefined);

    const outcome = await verifier.run(`sha256:${'0'.repeat(64)}`);
    expect(outcome).toMatchObject({ status: 'skipped', note: expect.stringMatching(/unreadable.*digest/) });
    expect(writes).toEqual([]);
  });
});
