// A strict, bounded CBOR (RFC 8949) decoder for signature envelopes: definite lengths only,
// integer or text map keys, no duplicate keys, depth and item caps, no trailing bytes.

/** A decoded CBOR data item. Byte strings are views into the input; maps keep insertion order. */
export type CborValue =
  number | string | boolean | null | undefined | Buffer | CborValue[] | CborMap | CborTag;

/** Map keys are integers or text; `1` and `"1"` are different keys. */
export type CborMap = Map<number | string, CborValue>;

export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

/** Input that is not CBOR this decoder accepts; the message says where and why. */
export class CborError extends Error {
  override name = 'CborError';
}

export interface CborLimits {
  /** Nesting depth of arrays, maps and tags (the top-level item is depth 1). */
  maxDepth: number;
  /** Data items in total, so a small input cannot make a huge tree. */
  maxItems: number;
}

const DEFAULT_LIMITS: CborLimits = { maxDepth: 16, maxItems: 10_000 };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes exactly one data item that spans all of `bytes`; throws `CborError` otherwise. */
export function decodeCbor(bytes: Buffer, limits: Partial<CborLimits> = {}): CborValue {
  const reader = new Reader(bytes, { ...DEFAULT_LIMITS, ...limits });
  const value = reader.item(1);
  if (reader.offset !== bytes.length) {
    throw new CborError(`${bytes.length - reader.offset} trailing byte(s) after the data item`);
  }
  return value;
}

export function isCborMap(value: CborValue): value is CborMap {
  return value instanceof Map;
}

class Reader {
  offset = 0;
  private items = 0;

  constructor(
    private readonly bytes: Buffer,
    private readonly limits: CborLimits,
  ) {}

  item(depth: number): CborValue {
    if (depth > this.limits.maxDepth) throw this.error(`nested deeper than ${this.limits.maxDepth}`);
    if (++this.items > this.limits.maxItems) throw this.error(`more than ${this.limits.maxItems} items`);
    const start = this.offset;
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simple(info, start);
    if (info === 31) throw this.error('indefinite lengths are not accepted', start);
    const argument = this.argument(info, start);
    switch (major) {
      case 0:
        return this.safe(argument, start);
      case 1:
        return -1 - this.safe(argument, start);
      case 2:
        return this.take(this.safe(argument, start));
      case 3:
        return this.text(this.take(this.safe(argument, start)), start);
      case 4:
        return this.array(this.count(argument, start), depth);
      case 5:
        return this.map(this.count(argument, start), depth);
      default: // 6
        return new CborTag(this.safe(argument, start), this.item(depth + 1));
    }
  }

  private array(length: number, depth: number): CborValue[] {
    const values: CborValue[] = [];
    for (let i = 0; i < length; i++) values.push(this.item(depth + 1));
    return values;
  }

  private map(length: number, depth: number): CborMap {
    const map: CborMap = new Map();
    for (let i = 0; i < length; i++) {
      const keyAt = this.offset;
      const key = this.item(depth + 1);
      if (typeof key !== 'number' && typeof key !== 'string') {
        throw this.error('map keys must be integers or text strings', keyAt);
      }
      if (map.has(key)) throw this.error(`duplicate map key ${JSON.stringify(key)}`, keyAt);
      map.set(key, this.item(depth + 1));
    }
    return map;
  }

  private simple(info: number, start: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        return halfFloat(this.take(2).readUInt16BE(0));
      case 26:
        return this.take(4).readFloatBE(0);
      case 27:
        return this.take(8).readDoubleBE(0);
      case 31:
        throw this.error('a "break" outside an indefinite-length item', start);
      default:
        throw this.error(`simple value ${info} is not accepted`, start);
    }
  }

  /** The argument of the initial byte (RFC 8949 3.1); lengths beyond 2^53 are refused below. */
  private argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        return this.byte();
      case 25:
        return this.take(2).readUInt16BE(0);
      case 26:
        return this.take(4).readUInt32BE(0);
      case 27:
        return this.take(8).readBigUInt64BE(0);
      default:
        throw this.error(`reserved additional information ${info}`, start);
    }
  }

  private safe(value: number | bigint, start: number): number {
    if (typeof value === 'number') return value;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw this.error('integer out of range', start);
    return Number(value);
  }

  /** An element count; every element takes at least one byte, so it cannot exceed what is left. */
  private count(value: number | bigint, start: number): number {
    const n = this.safe(value, start);
    if (n > this.bytes.length - this.offset) throw this.error(`${n} elements do not fit the input`, start);
    return n;
  }

  private text(bytes: Buffer, start: number): string {
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.error('a text string is not valid UTF-8', start);
    }
  }

  private byte(): number {
    if (this.offset >= this.bytes.length) throw this.error('unexpected end of input');
    return this.bytes[this.offset++]!;
  }

  private take(length: number): Buffer {
    if (length > this.bytes.length - this.offset) throw this.error('unexpected end of input');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  private error(message: string, at = this.offset): CborError {
    return new CborError(`CBOR at byte ${at}: ${message}`);
  }
}

function halfFloat(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Encodes the head of a definite-length item (major type and length), shortest form. */
export function encodeHead(major: number, length: number): Buffer {
  const type = major << 5;
  if (length < 24) return Buffer.from([type | length]);
  if (length < 0x100) return Buffer.from([type | 24, length]);
  if (length < 0x10000) {
    const head = Buffer.alloc(3);
    head[0] = type | 25;
    head.writeUInt16BE(length, 1);
    return head;
  }
  if (length < 0x100000000) {
    const head = Buffer.alloc(5);
    head[0] = type | 26;
    head.writeUInt32BE(length, 1);
    return head;
  }
  const head = Buffer.alloc(9);
  head[0] = type | 27;
  head.writeBigUInt64BE(BigInt(length), 1);
  return head;
}
