import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { verifyEcdsaPrehashed } from './ecdsa-prehashed.js';

describe('verifyEcdsaPrehashed', () => {
  it.each([
    ['P-256', 'sha256'],
    ['P-384', 'sha384'],
    ['P-384', 'sha256'],
    ['P-521', 'sha512'],
  ])('agrees with node:crypto on %s over %s digests', (namedCurve, hash) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    for (let i = 0; i < 5; i++) {
      const message = Buffer.from(`message ${i} ${namedCurve}`);
      const digest = createHash(hash).update(message).digest();
      const signature = sign(hash, message, privateKey);
      expect(verifyEcdsaPrehashed(publicKey, digest, signature)).toBe(true);
      const otherDigest = createHash(hash)
        .update(Buffer.concat([message, Buffer.from('!')]))
        .digest();
      expect(verifyEcdsaPrehashed(publicKey, otherDigest, signature)).toBe(false);
    }
  });

  it('rejects another key, corrupted signatures and non-EC keys', () => {
    const a = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const b = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const message = Buffer.from('artifact');
    const digest = createHash('sha256').update(message).digest();
    const signature = sign('sha256', message, a.privateKey);
    expect(verifyEcdsaPrehashed(b.publicKey, digest, signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 0x01;
    expect(verifyEcdsaPrehashed(a.publicKey, digest, flipped)).toBe(false);
    expect(verifyEcdsaPrehashed(a.publicKey, digest, Buffer.concat([signature, Buffer.from([0])]))).toBe(
      false,
    );
    expect(verifyEcdsaPrehashed(a.publicKey, digest, Buffer.alloc(0))).toBe(false);
    const ed = generateKeyPairSync('ed25519');
    expect(verifyEcdsaPrehashed(ed.publicKey, digest, sign(null, message, ed.privateKey))).toBe(false);
  });

  it('accepts both s and n - s, as node:crypto does (signers do not normalise s)', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const message = Buffer.from('high s');
    const digest = createHash('sha256').update(message).digest();
    const der = sign('sha256', message, privateKey);
    const sig = p256.Signature.fromBytes(der, 'der');
    const other = new p256.Signature(sig.r, p256.Point.Fn.neg(sig.s)).toBytes('der');
    expect(sig.hasHighS()).not.toBe(new p256.Signature(sig.r, p256.Point.Fn.neg(sig.s)).hasHighS());
    expect(verifyEcdsaPrehashed(publicKey, digest, der)).toBe(true);
    expect(verifyEcdsaPrehashed(publicKey, digest, other)).toBe(true);
  });
});
