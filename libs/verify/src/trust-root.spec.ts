import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolvePolicy } from './policy.js';
import { STAGING_TRUSTED_ROOT } from './staging-trusted-root.js';
import { TrustRoot, loadTrustRoot } from './trust-root.js';

type Root = { tlogs: { baseUrl: string; publicKey: { validFor?: { start?: string } } }[] };

describe('trusted roots', () => {
  it('loads the public-good root offline from the installed @sigstore/tuf seeds', async () => {
    const root = await loadTrustRoot({ kind: 'public-good' });
    const material = root.material();
    expect(material.tlogs.length).toBeGreaterThan(0);
    expect(material.certificateAuthorities.length).toBeGreaterThan(0);
    expect(material.tlogs.map((t) => t.baseURL)).toContain('https://rekor.sigstore.dev');
  });

  it('builds verification material once per root and per pinned key, not per verification', async () => {
    const root = await loadTrustRoot({ kind: 'staging' });
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { publicKey: other } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(root.material()).toBe(root.material());
    const pinned = root.material(publicKey);
    expect(root.material(publicKey)).toBe(pinned);
    expect(pinned).not.toBe(root.material());
    expect(root.material(other)).not.toBe(pinned);
    // The pinned key answers a key-signed bundle's hint; the keyless material has none.
    expect(pinned.publicKey('any hint').publicKey).toBe(publicKey);
    expect(root.material(other).publicKey('any hint').publicKey).toBe(other);
    // A key policy resolved again from the same PEM pins the same key, so the material is reused.
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const once = resolvePolicy({ publicKey: pem });
    const twice = resolvePolicy({ publicKey: pem });
    expect(once.kind === 'key' && twice.kind === 'key' && once.key === twice.key).toBe(true);
  });

  it('loads the staging root shipped with refgraph', async () => {
    const root = await loadTrustRoot({ kind: 'staging' });
    expect(root.material().tlogs.map((t) => t.baseURL)).toContain('https://rekor.sigstage.dev');
  });

  it('loads a trusted_root.json file and rejects unreadable or non-JSON files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'refgraph-trust-'));
    try {
      const good = path.join(dir, 'trusted_root.json');
      await writeFile(good, JSON.stringify(STAGING_TRUSTED_ROOT));
      expect((await loadTrustRoot({ kind: 'file', path: good })).name).toBe(good);
      const bad = path.join(dir, 'bad.json');
      await writeFile(bad, '{');
      await expect(loadTrustRoot({ kind: 'file', path: bad })).rejects.toMatchObject({
        reason: 'trust_root_invalid',
      });
      await expect(loadTrustRoot({ kind: 'file', path: path.join(dir, 'missing') })).rejects.toMatchObject({
        reason: 'trust_root_invalid',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a key validity period without a start instead of reading it as unbounded', () => {
    const root = structuredClone(STAGING_TRUSTED_ROOT) as Root;
    const tlog = root.tlogs[0];
    if (!tlog?.publicKey.validFor) throw new Error('staging root has no tlog validity');
    delete tlog.publicKey.validFor.start;
    expect(() => TrustRoot.fromJSON(root)).toThrow(expect.objectContaining({ reason: 'trust_root_invalid' }));
  });

  it('rejects content that is not a trusted root', () => {
    expect(() => TrustRoot.fromJSON([])).toThrow(expect.objectContaining({ reason: 'trust_root_invalid' }));
    expect(() => TrustRoot.fromJSON({ tlogs: [{ publicKey: { rawBytes: 'AAAA' } }] })).toThrow(
      expect.objectContaining({ reason: 'trust_root_invalid' }),
    );
  });
});
