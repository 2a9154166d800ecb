import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { assertBodyMatches, spkiOf, type LoggedContent, type RekorBody } from './rekor-entry.js';

const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = spkiOf(keys.publicKey);
const publicPem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

// A DSSE envelope's content as the log must record it: the payload digest (intoto, dsse) and the
// digest of the pre-authentication encoding the signature is over (hashedrekord).
const payload = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [] }));
const pae = dsse.preAuthEncoding('application/vnd.in-toto+json', payload);
const signature = sign('sha256', pae, keys.privateKey);
const content: LoggedContent = {
  signature,
  digest: sha256(payload),
  signedDigest: sha256(pae),
  keyDer: spki,
};

function hashedRekordV1(digest: Buffer): RekorBody {
  return {
    kind: 'hashedrekord',
    apiVersion: '0.0.1',
    spec: {
      data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
      signature: {
        content: signature.toString('base64'),
        publicKey: { content: Buffer.from(publicPem).toString('base64') },
      },
    },
  };
}

function hashedRekordV2(digest: Buffer, verifierDer = spki): RekorBody {
  return {
    kind: 'hashedrekord',
    apiVersion: '0.0.2',
    spec: {
      hashedRekordV002: {
        data: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
        signature: {
          content: signature.toString('base64'),
          verifier: {
            publicKey: { rawBytes: verifierDer.toString('base64') },
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          },
        },
      },
    },
  };
}

describe('Rekor entry bodies', () => {
  it('a DSSE envelope logged as hashedrekord 0.0.1 matches on the digest of its pre-authentication encoding', () => {
    expect(() => assertBodyMatches(hashedRekordV1(sha256(pae)), content)).not.toThrow();
    expect(() => assertBodyMatches(hashedRekordV1(sha256(payload)), content)).toThrow(
      expect.objectContaining({ reason: 'tlog_invalid', message: expect.stringContaining('digest') }),
    );
  });

  it('Rekor v2 hashedrekord 0.0.2 over DSSE: the PAE digest and the DER verifier must match', () => {
    expect(() => assertBodyMatches(hashedRekordV2(sha256(pae)), content)).not.toThrow();
    expect(() => assertBodyMatches(hashedRekordV2(sha256(payload)), content)).toThrow(
      expect.objectContaining({ reason: 'tlog_invalid', message: expect.stringContaining('digest') }),
    );
    const other = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    expect(() => assertBodyMatches(hashedRekordV2(sha256(pae), other), content)).toThrow(
      expect.objectContaining({ reason: 'tlog_invalid', message: expect.stringContaining('signing key') }),
    );
  });

  it('Rekor v2 dsse 0.0.2 records the payload digest', () => {
    const body = (digest: Buffer): RekorBody => ({
      kind: 'dsse',
      apiVersion: '0.0.2',
      spec: {
        dsseV002: {
          payloadHash: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
          signatures: [
            {
              content: signature.toString('base64'),
              verifier: { publicKey: { rawBytes: spki.toString('base64') } },
            },
          ],
        },
      },
    });
    expect(() => assertBodyMatches(body(sha256(payload)), content)).not.toThrow();
    expect(() => assertBodyMatches(body(sha256(pae)), content)).toThrow(
      expect.objectContaining({ reason: 'tlog_invalid' }),
    );
  });

  it('a hex digest with a trailing character or another hash algorithm does not match', () => {
    const v1 = hashedRekordV1(sha256(pae));
    (v1.spec as { data: { hash: { value: string } } }).data.hash.value += '0';
    expect(() => assertBodyMatches(v1, content)).toThrow(expect.objectContaining({ reason: 'tlog_invalid' }));
    const v2 = hashedRekordV2(sha256(pae));
    (v2.spec as { hashedRekordV002: { data: { algorithm: string } } }).hashedRekordV002.data.algorithm =
      'SHA2_384';
    expect(() => assertBodyMatches(v2, content)).toThrow(expect.objectContaining({ reason: 'tlog_invalid' }));
  });

  it('an unknown kind is refused', () => {
    expect(() => assertBodyMatches({ kind: 'rekord', apiVersion: '0.0.1', spec: {} }, content)).toThrow(
      expect.objectContaining({ reason: 'tlog_invalid', message: expect.stringContaining('rekord/0.0.1') }),
    );
  });
});
