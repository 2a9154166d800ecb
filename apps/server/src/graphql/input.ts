import { GraphqlInputError } from './errors.js';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * A refused value as quoted in its error: the start of it, so an error never costs more than the
 * value's kind needs (a megabyte-long argument under many aliases would be echoed once per alias).
 */
export function quote(value: string): string {
  return value.length > 140 ? `${value.slice(0, 140)}…` : value;
}

export function parseDigest(value: string, field: string): string {
  if (!DIGEST_RE.test(value)) {
    throw new GraphqlInputError(
      `${field}: "${quote(value)}" is not a digest (sha256:<64 lowercase hex>)`,
      'INVALID_DIGEST',
    );
  }
  return value;
}

/** `first` arguments: 1..max, so one request cannot ask for an unbounded page. */
export function parseFirst(value: number, field: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new GraphqlInputError(`${field}: first must be between 1 and ${max}`, 'BAD_USER_INPUT');
  }
  return value;
}

/** Cursors are opaque to clients: base64url of a typed key, so one list's cursor fails on another. */
/** `a`, `r`, `v`: digests (artifacts, referrers, vulnerable images); `p`, `f`: row ids (packages, findings). */
type DigestCursor = 'a' | 'r' | 'v';
type IdCursor = 'p' | 'f';

export function encodeCursor(kind: DigestCursor | IdCursor, key: string | number): string {
  return Buffer.from(`${kind}:${key}`).toString('base64url');
}

export function decodeCursor(kind: DigestCursor, cursor: string | undefined): string | undefined;
export function decodeCursor(kind: IdCursor, cursor: string | undefined): number | undefined;
export function decodeCursor(
  kind: DigestCursor | IdCursor,
  cursor: string | undefined,
): string | number | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString();
  const key = text.startsWith(`${kind}:`) ? text.slice(2) : undefined;
  const numeric = kind === 'p' || kind === 'f';
  if (numeric && key !== undefined && /^[0-9]{1,15}$/.test(key)) return Number(key);
  if (!numeric && key !== undefined && DIGEST_RE.test(key)) return key;
  throw new GraphqlInputError(`after: "${quote(cursor)}" is not a cursor of this list`, 'INVALID_CURSOR');
}

export const LIMITS = {
  /** Largest `first` of any connection. */
  maxFirst: 100,
  /** Default page sizes (also the multipliers the complexity rule uses). */
  artifacts: 20,
  referrers: 20,
  packages: 50,
  findings: 50,
  /** Nesting of selection sets. */
  maxDepth: 12,
  /** Fields × list sizes, see limits.ts. */
  maxComplexity: 50_000,
  /**
   * Aliased fields in one operation, as executed (a fragment's aliases count at each spread). Each
   * alias of a root field is one more resolver run and SQL statement (DataLoaders batch only the
   * same field at the same level), and an aliased introspection field one more copy of the schema.
   */
  maxAliases: 32,
  /** Lexical tokens of one document, counted before it is parsed (document-limits.ts). */
  maxTokens: 5_000,
} as const;
