import fc from 'fast-check';

/** Seeded generators of hostile inputs: every run of the fuzz suite sends the same requests. */

const DIGEST = `sha256:${'a'.repeat(64)}`;

/** Values that break naive code: wrong types, huge numbers, prototype keys, odd strings. */
export const nasty = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -1e308,
    2 ** 53 + 1,
    '',
    ' ',
    '\u0000',
    '\ud800',
    '../../etc/passwd',
    '%00',
    '%ZZ',
    'a'.repeat(5000),
    DIGEST,
    'sha256:',
    'sha512:zz',
    'SHA256:' + 'A'.repeat(64),
    '__proto__',
    'constructor',
    '1970-01-01T00:00:00Z',
    '9999-99-99T99:99:99Z',
    'NaN',
    '-0',
    '[]',
    '{}',
    [],
    {},
    [[[]]],
    JSON.parse('{"__proto__":{"polluted":1}}') as unknown,
    { constructor: { prototype: { x: 1 } } },
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
);

type Json = unknown;

/** Replaces, deletes or wraps one node of a JSON tree, chosen by `path`. */
function mutateAt(value: Json, path: number[], replacement: unknown, op: number): Json {
  if (path.length === 0 || value === null || typeof value !== 'object') {
    return op === 0 ? replacement : op === 1 ? [value] : op === 2 ? { value } : replacement;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return replacement;
  const idx = path[0]! % entries.length;
  const [key, child] = entries[idx]!;
  if (path.length === 1 && op === 3) {
    if (Array.isArray(value)) return value.filter((_, i) => i !== idx);
    const { [key]: _drop, ...rest } = value as Record<string, unknown>;
    return rest;
  }
  const next = mutateAt(child, path.slice(1), replacement, op);
  if (Array.isArray(value)) return value.map((v, i) => (i === idx ? next : v));
  return { ...(value as Record<string, unknown>), [key]: next };
}

/** A structural mutation of `seed`: one to four nodes replaced, deleted or wrapped. */
export function mutated(seed: Json): fc.Arbitrary<string> {
  const one = fc.tuple(fc.array(fc.nat(20), { minLength: 0, maxLength: 6 }), nasty, fc.nat(3));
  return fc.array(one, { minLength: 1, maxLength: 4 }).map((ms) => {
    let v = seed;
    for (const [path, rep, op] of ms) v = mutateAt(v, path, rep, op);
    return JSON.stringify(v) ?? 'null';
  });
}

/** The body text of a webhook delivery, in one of several hostile families. */
export function webhookBody(seed: Json, bodyLimit: number): fc.Arbitrary<{ family: string; body: Buffer }> {
  const text = JSON.stringify(seed);
  const tag = (family: string) => (b: string | Uint8Array) => ({ family, body: Buffer.from(b) });
  return fc.oneof(
    { weight: 5, arbitrary: mutated(seed).map(tag('mutated')) },
    { weight: 2, arbitrary: fc.nat(text.length).map((n) => tag('truncated')(text.slice(0, n))) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map(tag('random-json')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map(tag('random-bytes')) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map(tag('random-text')) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        tag('type-confused')('[]'),
        tag('type-confused')('null'),
        tag('type-confused')('"events"'),
        tag('type-confused')('{"events":{}}'),
        tag('type-confused')('{"events":[null,1,"x",[]]}'),
        tag('type-confused')('1e999999'),
        tag('deep')('['.repeat(5000) + ']'.repeat(5000)),
        tag('deep')('{"a":'.repeat(3000) + '1' + '}'.repeat(3000)),
        tag('empty')(''),
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: bodyLimit + 1, max: bodyLimit * 3 })
        .map((n) => tag('oversized')(`{"events":[${'0,'.repeat(n / 2)}0]}`)),
    },
  );
}

export const contentTypes = (right: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(right) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'application/json',
        'text/plain',
        '',
        'application/json; charset=utf-16',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '*/*',
        'application/cloudevents+json',
        ';;;',
      ),
    },
  );

/** A path parameter or query value: sometimes plausible, often hostile. */
export const param = fc.oneof(
  fc.constantFrom(
    DIGEST,
    'sha256:nothex',
    'local',
    'team/app',
    'v1',
    '..',
    '%2e%2e',
    '%',
    '%00',
    'a'.repeat(3000),
    '-1',
    '0',
    '1e9',
    'true',
    '[]',
  ),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.stringMatching(/^[a-z0-9._/:-]{0,60}$/),
);

export const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom(
        'n',
        'last',
        'artifactType',
        'first',
        'after',
        'limit',
        'depth',
        'reference',
        'digest',
        'status',
        'before',
        'q',
        'purl',
        'policy',
        'x',
      ),
      param,
    ),
    { maxLength: 4 },
  )
  .map((kv) => (kv.length ? `?${kv.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

export const graphqlBody = (queries: string[]) =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...queries), fc.jsonValue({ maxDepth: 2 }))
        .map(([q, v]) => JSON.stringify({ query: q, variables: v })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...queries), fc.nat(200))
        .map(([q, n]) => JSON.stringify({ query: q.slice(0, n) })),
    },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.nat(400).map((d) =>
        JSON.stringify({
          query: `{ ${'artifact(digest: "x") { referrers { nodes { '.repeat(d % 60)} __typename ${'} } }'.repeat(d % 60)} }`,
        }),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.nat(3000).map((n) => JSON.stringify({ query: `{ ${'__typename '.repeat(n)} }` })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"query":null}',
        '{"query":1}',
        '{"query":{}}',
        '[]',
        '[{"query":"{__typename}"}]',
        '{"query":"{__typename}","variables":"x"}',
        '{"query":"{__typename}","operationName":5}',
      ),
    },
  );

/** One event of a Distribution envelope, and whether a correct receiver admits it. */
export interface MixedEvent {
  event: unknown;
  /** The sender event id of a valid event, which must end up stored. */
  validId?: string;
  /** The event is rejected, and stored as such under this id (the id itself is storable). */
  rejectedId?: string;
}

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));

/**
 * Distribution events a hostile pusher or a public example can produce: digests of unsupported
 * or malformed form (one placeholder digest in Distribution's own examples), ids and names
 * Postgres cannot store, wrong types, non-objects. None may cost the valid events beside it.
 */
function invalidEvent(id: string): fc.Arbitrary<MixedEvent> {
  const push = (target: Record<string, unknown>, eventId: unknown = id) => ({
    id: eventId,
    timestamp: '2026-01-01T00:00:00Z',
    action: 'push',
    target: { mediaType: OCI_MANIFEST, repository: 'team/app', ...target },
  });
  const storable = (event: unknown): MixedEvent => ({ event, rejectedId: id });
  return fc.oneof(
    hex(64).map((h) => storable(push({ digest: `md5:${h.slice(0, 32)}` }))),
    hex(64).map((h) => storable(push({ digest: `sha384:${h}` }))),
    fc.constant(storable(push({ digest: 'sha256:0123456789abcdef0' }))),
    fc.constant(storable(push({ digest: 'sha512:zz' }))),
    fc.constant(storable(push({ digest: `sha256:${'a'.repeat(64)}`, repository: '../etc' }))),
    fc.constant(storable(push({ tag: '-bad' }))),
    fc.constant(storable(push({ digest: 5 }))),
    fc.constant<MixedEvent>({ event: push({ digest: `sha256:${'a'.repeat(64)}` }, `${id}\u0000nul`) }),
    fc.constant<MixedEvent>({ event: push({ digest: `sha256:${'a'.repeat(64)}` }, `${id}\ud800`) }),
    fc.constant<MixedEvent>({
      event: push({ digest: `sha256:${'a'.repeat(64)}` }, `${id}${'x'.repeat(3000)}`),
    }),
    fc.constantFrom<MixedEvent>({ event: null }, { event: 1 }, { event: 'x' }, { event: [] }),
  );
}

function validEvent(id: string): fc.Arbitrary<MixedEvent> {
  return fc
    .tuple(fc.constantFrom('sha256', 'sha384', 'sha512'), hex(128), fc.boolean())
    .map(([algorithm, h, tagged]) => {
      const length = { sha256: 64, sha384: 96, sha512: 128 }[algorithm];
      return {
        event: {
          id,
          timestamp: '2026-01-01T00:00:00Z',
          action: 'push',
          target: {
            mediaType: OCI_MANIFEST,
            repository: 'team/app',
            digest: `${algorithm}:${h.slice(0, length)}`,
            ...(tagged && { tag: 'v1' }),
          },
        },
        validId: id,
      };
    });
}

/**
 * An envelope of valid and invalid events with unique ids under `prefix`: an invalid one first
 * (the case that blocked every later event), a valid one last, random ones between.
 */
export function mixedEnvelope(prefix: string): fc.Arbitrary<MixedEvent[]> {
  return fc
    .array(fc.boolean(), { maxLength: 6 })
    .map((middle) => [false, ...middle, true])
    .chain((kinds) =>
      fc.tuple(
        ...kinds.map((valid, i) => (valid ? validEvent(`${prefix}-${i}`) : invalidEvent(`${prefix}-${i}`))),
      ),
    );
}

const DISTRIBUTION_TYPES = [
  'application/vnd.docker.distribution.events.v1+json',
  'application/vnd.docker.distribution.events.v2+json',
  'application/json',
];

/**
 * Whether a Distribution delivery is an envelope (an object with an `events` array, in a media
 * type Distribution uses, within the body limit): those must be admitted with 2xx, whatever the
 * events in it, because Distribution retries a refused delivery forever.
 */
export function isDistributionEnvelope(body: Buffer, contentType: string, bodyLimit: number): boolean {
  const essence = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (!DISTRIBUTION_TYPES.includes(essence) || body.length > bodyLimit) return false;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    return (
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Array.isArray((value as { events?: unknown }).events)
    );
  } catch {
    return false;
  }
}
