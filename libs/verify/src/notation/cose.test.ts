// Test-only helpers (excluded from the build by the *.test.ts pattern): a small CBOR encoder,
// written apart from the decoder under test, and notation COSE_Sign1 envelopes signed with
// node:crypto.
import { constants, sign, type KeyObject } from 'node:crypto';
import { SUBJECT } from './pki.test.js';

/** A tagged item, e.g. `new Tagged(1, 1700000000)` for an epoch time. */
export class Tagged {
  constructor(
    readonly tag: number,
    readonly value: Cbor,
  ) {}
}

/** Bytes spliced into the output as they are (hand-made hostile encodings). */
export class Raw {
  constructor(readonly bytes: Buffer) {}
}

export type Cbor = number | string | boolean | null | Buffer | Cbor[] | Map<Cbor, Cbor> | Tagged | Raw;

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 256) return Buffer.from([(major << 5) | 24, n]);
  if (n < 65536) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

export function encode(value: Cbor): Buffer {
  if (value instanceof Raw) return value.bytes;
  if (value instanceof Tagged) return Buffer.concat([head(6, value.tag), encode(value.value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encode)]);
  if (value instanceof Map) {
    const parts = [...value].flatMap(([k, v]) => [encode(k), encode(v)]);
    return Buffer.concat([head(5, value.size), ...parts]);
  }
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, text.length), text]);
  }
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (value === null) return Buffer.from([0xf6]);
  return Buffer.from([value ? 0xf5 : 0xf4]);
}

export const COSE_ALG = { PS256: -37, PS384: -38, PS512: -39, ES256: -7, ES384: -35, ES512: -36 } as const;

export interface CoseOptions {
  key: KeyObject;
  chain: Buffer[];
  alg?: keyof typeof COSE_ALG;
  target?: { digest: string; mediaType: string; size: number };
  /** Set (or, with `undefined`, removed) in the protected header after the defaults. */
  protected?: [Cbor, Cbor | undefined][];
  /** Set (or removed) in the unprotected header after the defaults. */
  unprotected?: [Cbor, Cbor | undefined][];
  /** Replaces the payload after signing (tampering). */
  tamperedPayload?: Buffer;
  /** Given the signature value, returns a DER TimeStampToken to attach. */
  timestamp?: (signature: Buffer) => Buffer;
}

const SIGNING_SCHEME = 'io.cncf.notary.signingScheme';

export function signCose(options: CoseOptions): Buffer {
  const alg = options.alg ?? (options.key.asymmetricKeyType === 'ec' ? 'ES256' : 'PS256');
  const header = new Map<Cbor, Cbor>([
    [1, COSE_ALG[alg]],
    [2, [SIGNING_SCHEME]],
    [3, 'application/vnd.cncf.notary.payload.v1+json'],
    [SIGNING_SCHEME, 'notary.x509'],
    ['io.cncf.notary.signingTime', new Tagged(1, Math.floor(Date.now() / 1000))],
  ]);
  apply(header, options.protected);
  const protectedBytes = encode(header);
  const payload = Buffer.from(JSON.stringify({ targetArtifact: options.target ?? SUBJECT }));
  const toBeSigned = encode(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
  const hash = `sha${alg.slice(2)}`;
  const signature = alg.startsWith('PS')
    ? sign(hash, toBeSigned, {
        key: options.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      })
    : sign(hash, toBeSigned, { key: options.key, dsaEncoding: 'ieee-p1363' });
  const unprotected = new Map<Cbor, Cbor>([
    [33, options.chain],
    ['io.cncf.notary.signingAgent', 'refgraph-test'],
  ]);
  if (options.timestamp) unprotected.set('io.cncf.notary.timestampSignature', options.timestamp(signature));
  apply(unprotected, options.unprotected);
  return encode(new Tagged(18, [protectedBytes, unprotected, options.tamperedPayload ?? payload, signature]));
}

function apply(map: Map<Cbor, Cbor>, changes: [Cbor, Cbor | undefined][] = []): void {
  for (const [key, value] of changes) {
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }
}
