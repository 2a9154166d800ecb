import type { KeyObject } from 'node:crypto';

/**
 * ECDSA verification over a message digest (FIPS 186-4 §6.4.2). node:crypto only verifies over a
 * message it hashes itself, but a digest-only artifact (an OCI digest) leaves nothing to hash. Only
 * public data is handled here (no secrets, so no constant-time requirement).
 */

interface Curve {
  p: bigint;
  a: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
  bits: number;
}

const CURVES: Record<string, Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    bits: 256,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    bits: 384,
  },
  'P-521': {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    gx: 0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
    gy: 0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
    bits: 521,
  },
};

type Point = { x: bigint; y: bigint } | null; // null is the point at infinity

/** True when `signatureDer` (ASN.1 ECDSA-Sig-Value) is valid for `digest` under `key`. */
export function verifyEcdsaPrehashed(key: KeyObject, digest: Uint8Array, signatureDer: Uint8Array): boolean {
  if (key.asymmetricKeyType !== 'ec') return false;
  const jwk = key.export({ format: 'jwk' });
  const curve = jwk.crv ? CURVES[jwk.crv] : undefined;
  if (!curve || !jwk.x || !jwk.y) return false;
  const sig = parseSignature(signatureDer);
  if (!sig) return false;
  const { r, s } = sig;
  const { n } = curve;
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  const q = { x: b64uInt(jwk.x), y: b64uInt(jwk.y) };
  const e = digestToInt(digest, curve.bits);
  const w = inverse(s, n);
  const u1 = mod(e * w, n);
  const u2 = mod(r * w, n);
  const point = add(curve, multiply(curve, { x: curve.gx, y: curve.gy }, u1), multiply(curve, q, u2));
  return point !== null && mod(point.x, n) === r;
}

/** Leftmost `bits` bits of the digest as an integer (FIPS 186-4 §6.4). */
function digestToInt(digest: Uint8Array, bits: number): bigint {
  let e = BigInt(`0x${Buffer.from(digest).toString('hex') || '0'}`);
  const excess = digest.length * 8 - bits;
  if (excess > 0) e >>= BigInt(excess);
  return e;
}

function parseSignature(der: Uint8Array): { r: bigint; s: bigint } | undefined {
  const b = Buffer.from(der);
  let i = 0;
  if (b[i++] !== 0x30) return undefined;
  const seqLen = readLength(b, i);
  if (!seqLen) return undefined;
  i = seqLen.next;
  if (i + seqLen.length !== b.length) return undefined;
  const r = readInteger(b, i);
  if (!r) return undefined;
  const s = readInteger(b, r.next);
  if (!s || s.next !== b.length) return undefined;
  return { r: r.value, s: s.value };
}

function readLength(b: Buffer, i: number): { length: number; next: number } | undefined {
  const first = b[i];
  if (first === undefined) return undefined;
  if (first < 0x80) return { length: first, next: i + 1 };
  const count = first & 0x7f;
  if (count === 0 || count > 2) return undefined;
  let length = 0;
  for (let k = 1; k <= count; k++) {
    const byte = b[i + k];
    if (byte === undefined) return undefined;
    length = (length << 8) | byte;
  }
  return { length, next: i + 1 + count };
}

function readInteger(b: Buffer, i: number): { value: bigint; next: number } | undefined {
  if (b[i] !== 0x02) return undefined;
  const len = readLength(b, i + 1);
  if (!len || len.length === 0 || len.next + len.length > b.length) return undefined;
  const bytes = b.subarray(len.next, len.next + len.length);
  if ((bytes[0] ?? 0) & 0x80) return undefined; // negative
  return { value: BigInt(`0x${bytes.toString('hex')}`), next: len.next + len.length };
}

function b64uInt(s: string): bigint {
  return BigInt(`0x${Buffer.from(s, 'base64url').toString('hex')}`);
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Modular inverse by the extended Euclidean algorithm; `a` is non-zero modulo prime `m`. */
function inverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

function add(c: Curve, p1: Point, p2: Point): Point {
  if (p1 === null) return p2;
  if (p2 === null) return p1;
  let lambda: bigint;
  if (p1.x === p2.x) {
    if (mod(p1.y + p2.y, c.p) === 0n) return null;
    lambda = mod((3n * p1.x * p1.x + c.a) * inverse(2n * p1.y, c.p), c.p);
  } else {
    lambda = mod((p2.y - p1.y) * inverse(p2.x - p1.x, c.p), c.p);
  }
  const x = mod(lambda * lambda - p1.x - p2.x, c.p);
  return { x, y: mod(lambda * (p1.x - x) - p1.y, c.p) };
}

function multiply(c: Curve, p: Point, k: bigint): Point {
  let result: Point = null;
  let addend = p;
  while (k > 0n) {
    if (k & 1n) result = add(c, result, addend);
    addend = add(c, addend, addend);
    k >>= 1n;
  }
  return result;
}
