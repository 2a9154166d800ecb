// A strict, bounded DER reader for RFC 3161 timestamp tokens: single-byte tags, definite
// minimal lengths, depth and node caps, nothing after the outermost element.

export class DerError extends Error {
  override name = 'DerError';
}

/** One TLV. `bytes` is the whole element, `content` its value; children only for constructed ones. */
export interface DerNode {
  tag: number;
  constructed: boolean;
  bytes: Buffer;
  content: Buffer;
  children: DerNode[];
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  sequence: 0x30,
  set: 0x31,
  generalizedTime: 0x18,
} as const;

/** `[n]` context-specific tags, constructed or primitive. */
export const contextTag = (n: number, constructed: boolean) => 0x80 | (constructed ? 0x20 : 0) | n;

const MAX_DEPTH = 32;
const MAX_NODES = 20_000;

export function parseDer(bytes: Buffer): DerNode {
  const state = { nodes: 0 };
  const [node, end] = parseAt(bytes, 0, 1, state);
  if (end !== bytes.length)
    throw new DerError(`${bytes.length - end} trailing byte(s) after the DER element`);
  return node;
}

function parseAt(bytes: Buffer, offset: number, depth: number, state: { nodes: number }): [DerNode, number] {
  if (depth > MAX_DEPTH) throw new DerError(`DER nested deeper than ${MAX_DEPTH}`);
  if (++state.nodes > MAX_NODES) throw new DerError(`more than ${MAX_NODES} DER elements`);
  if (offset + 2 > bytes.length) throw new DerError(`DER at byte ${offset}: unexpected end of input`);
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`DER at byte ${offset}: multi-byte tags are not accepted`);
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length === 0x80) throw new DerError(`DER at byte ${offset}: indefinite length`);
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 4) throw new DerError(`DER at byte ${offset}: length of ${count} bytes`);
    if (offset + 2 + count > bytes.length)
      throw new DerError(`DER at byte ${offset}: unexpected end of input`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[offset + 2 + i]!;
    // DER: the shortest form, so no leading zero byte and no long form below 128.
    if (bytes[offset + 2] === 0 || length < 0x80) {
      throw new DerError(`DER at byte ${offset}: length not minimally encoded`);
    }
    header += count;
  }
  const start = offset + header;
  const end = start + length;
  if (end > bytes.length) throw new DerError(`DER at byte ${offset}: length ${length} exceeds the input`);
  const constructed = (tag & 0x20) !== 0;
  const content = bytes.subarray(start, end);
  const children: DerNode[] = [];
  if (constructed) {
    let at = start;
    while (at < end) {
      const [child, next] = parseAt(bytes.subarray(0, end), at, depth + 1, state);
      children.push(child);
      at = next;
    }
  }
  return [{ tag, constructed, bytes: bytes.subarray(offset, end), content, children }, end];
}

/** The child at `index`, which must carry `tag`. */
export function child(node: DerNode, index: number, tag: number, what: string): DerNode {
  const found = node.children[index];
  if (!found || found.tag !== tag) throw new DerError(`${what} is missing or has the wrong type`);
  return found;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`${what} is missing or has the wrong type`);
  return node;
}

export function oid(node: DerNode | undefined, what: string): string {
  const n = expectTag(node, TAG.oid, what);
  const bytes = n.content;
  if (bytes.length === 0 || (bytes[bytes.length - 1]! & 0x80) !== 0)
    throw new DerError(`${what} is not an OID`);
  const arcs: bigint[] = [];
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (value === 0n && byte === 0x80) throw new DerError(`${what} is not a minimal OID`);
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** A non-negative INTEGER (or an implicitly tagged one) that fits a safe JavaScript number. */
export function smallInteger(node: DerNode | undefined, what: string, tag: number = TAG.integer): number {
  const n = expectTag(node, tag, what);
  const bytes = n.content;
  if (bytes.length === 0 || bytes.length > 6 || (bytes[0]! & 0x80) !== 0) {
    throw new DerError(`${what} is not a small non-negative integer`);
  }
  return bytes.readUIntBE(0, bytes.length);
}

/** GeneralizedTime as DER requires it: `YYYYMMDDHHMMSS[.f+]Z`, no trailing zero in the fraction. */
export function generalizedTime(node: DerNode | undefined, what: string): Date {
  const text = expectTag(node, TAG.generalizedTime, what).content.toString('latin1');
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/.exec(text);
  if (!match) throw new DerError(`${what} is not a DER GeneralizedTime`);
  const [, y, mo, d, h, mi, s, fraction] = match;
  const millis = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  const time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + millis;
  const date = new Date(time);
  // Date.UTC rolls over out-of-range fields (month 13, second 61); a round trip catches them.
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCSeconds() !== Number(s)) {
    throw new DerError(`${what} is not a valid time`);
  }
  return date;
}
