import { COSIGN_SIGN_PREDICATE } from '#oci';
import { signatureKindOf } from './signature-kind.js';

const SLSA = 'https://slsa.dev/provenance/v1';

function envelope(predicateType: string, payloadType = 'application/vnd.in-toto+json') {
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType, predicate: {} };
  return {
    payloadType,
    payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
    signatures: [{ sig: 'c2ln' }],
  };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const corrupted = (env: ReturnType<typeof envelope>) => ({
  ...env,
  payload: `${env.payload.slice(0, 8)}*${env.payload.slice(8)}`,
});

describe('signatureKindOf', () => {
  it.each([
    ['cosign simplesigning', 'cosign-simplesigning', json({ critical: {} }), undefined, 'signature'],
    ['notation JWS', 'notation-jws', json({}), undefined, 'signature'],
    ['notation COSE', 'notation-cose', Buffer.from([0xd2]), undefined, 'signature'],
    ['cosign .att (SLSA)', 'cosign-dsse', json(envelope(SLSA)), undefined, 'attestation'],
    [
      'cosign DSSE, sign predicate',
      'cosign-dsse',
      json(envelope(COSIGN_SIGN_PREDICATE)),
      undefined,
      'signature',
    ],
    [
      'DSSE, not in-toto',
      'cosign-dsse',
      json(envelope(COSIGN_SIGN_PREDICATE, 'text/plain')),
      undefined,
      'attestation',
    ],
    ['message-signature bundle', 'sigstore-bundle', json({ messageSignature: {} }), SLSA, 'signature'],
    [
      'DSSE bundle (SLSA)',
      'sigstore-bundle',
      json({ dsseEnvelope: envelope(SLSA) }),
      undefined,
      'attestation',
    ],
    [
      'DSSE bundle, sign predicate, annotation claims SLSA',
      'sigstore-bundle',
      json({ dsseEnvelope: envelope(COSIGN_SIGN_PREDICATE) }),
      SLSA,
      'signature',
    ],
    [
      'DSSE bundle (SLSA), annotation claims the sign predicate',
      'sigstore-bundle',
      json({ dsseEnvelope: envelope(SLSA) }),
      COSIGN_SIGN_PREDICATE,
      'attestation',
    ],
    ['unreadable bundle, attestation declared', 'sigstore-bundle', null, SLSA, 'attestation'],
    ['unreadable bundle, nothing declared', 'sigstore-bundle', null, undefined, 'signature'],
    ['unreadable DSSE, nothing declared', 'cosign-dsse', null, undefined, 'attestation'],
    [
      // Buffer.from(x, 'base64') would skip the '*' and read the sign predicate.
      'DSSE, sign predicate in a payload that is not base64',
      'cosign-dsse',
      json(corrupted(envelope(COSIGN_SIGN_PREDICATE))),
      undefined,
      'attestation',
    ],
    ['unsigned in-toto statement', 'in-toto', json({}), COSIGN_SIGN_PREDICATE, 'attestation'],
  ] as const)('%s: %s', (_name, action, blob, declared, kind) => {
    expect(signatureKindOf(action, blob, declared)).toBe(kind);
  });
});
