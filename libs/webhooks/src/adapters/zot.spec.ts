import { getAdapter } from '../adapters.js';
import { D1, D2, errorOf, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('zot');
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function ceHeaders(type: string, extra: Record<string, string> = {}) {
  return {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': '6f1c',
    'ce-source': 'zotregistry.dev',
    'ce-type': type,
    'ce-time': '2024-05-01T10:00:00Z',
    ...extra,
  };
}
const parse = (data: unknown, type: string, extra?: Record<string, string>) =>
  adapter.parse(request(data, ceHeaders(type, extra)));

describe('zot adapter', () => {
  it('reads image.updated in binary mode, ignoring the inline manifest', () => {
    const data = {
      name: 'space/img',
      reference: 'latest',
      digest: D1,
      mediaType: MANIFEST,
      manifest: '{"schemaVersion":2}',
    };
    expect(parse(data, 'zotregistry.image.updated')).toEqual({
      events: [
        {
          action: 'push',
          repository: 'space/img',
          digest: D1,
          tag: 'latest',
          mediaType: MANIFEST,
          occurredAt: new Date('2024-05-01T10:00:00Z'),
          senderEventId: '6f1c',
        },
      ],
      ignored: 0,
    });
  });

  it('has no tag for a by-digest push, whose reference is the digest', () => {
    const [e] = parse(
      { name: 'space/img', reference: D2, digest: D2, mediaType: MANIFEST },
      'zotregistry.image.updated',
    ).events;
    expect(e?.tag).toBeUndefined();
    expect(e?.digest).toBe(D2);
  });

  it('takes the digest from the reference when the digest field is empty', () => {
    const [e] = parse({ name: 'space/img', reference: D2, digest: '' }, 'zotregistry.image.deleted').events;
    expect(e).toMatchObject({ action: 'delete', digest: D2 });
  });

  it('reads a delete by tag as an untag: the manifest may survive under its digest', () => {
    const [e] = parse(
      { name: 'space/img', reference: 'v1', digest: D1, mediaType: MANIFEST },
      'zotregistry.image.deleted',
    ).events;
    expect(e).toMatchObject({ action: 'delete', tag: 'v1' });
    expect(e?.digest).toBeUndefined();
  });

  it('matches the type by suffix, so a configured prefix works', () => {
    expect(
      parse({ name: 'a', reference: 'v1', digest: D1 }, 'com.example.image.updated').events,
    ).toHaveLength(1);
  });

  it('ignores lint, scan and repository events', () => {
    for (const type of [
      'zotregistry.image.lint_failed',
      'zotregistry.image.scanned',
      'zotregistry.repository.created',
    ]) {
      expect(parse({ name: 'a' }, type)).toEqual({ events: [], ignored: 1 });
    }
  });

  it('keeps a tagged push whose digest is invalid, and refuses an untagged one', () => {
    const [e] = parse(
      { name: 'a', reference: 'latest', digest: 'sha256:abc...' },
      'zotregistry.image.updated',
    ).events;
    expect(e).toMatchObject({ tag: 'latest' });
    expect(e?.digest).toBeUndefined();
    expect(
      rejectionOf(parse({ name: 'a', reference: 'sha256:abc', digest: '' }, 'zotregistry.image.updated'))
        .message,
    ).toMatch(/^reference: "sha256:abc" is not a valid digest/);
  });

  it('requires the CloudEvents headers of binary mode', () => {
    const headers: Record<string, string> = ceHeaders('zotregistry.image.updated');
    delete headers['ce-type'];
    const err = errorOf(() => adapter.parse(request({ name: 'a', reference: 'v1' }, headers)));
    expect(err).toMatchObject({ code: 'bad_request', message: 'missing Ce-Type header' });
    expect(errorOf(() => parse({}, 'x', { 'ce-specversion': '0.3' })).message).toBe(
      'Ce-Specversion must be 1.0',
    );
  });

  it('accepts structured mode too, reporting paths under data', () => {
    const body = {
      specversion: '1.0',
      id: 'i',
      source: 's',
      type: 'zotregistry.image.updated',
      data: { reference: 'v1' },
    };
    expect(
      rejectionOf(adapter.parse(request(body, { 'content-type': 'application/cloudevents+json' }))).message,
    ).toBe('data.name: missing repository name');
  });

  it('rejects wrong content types and malformed JSON', () => {
    expect(errorOf(() => parse({}, 'zotregistry.image.updated', { 'content-type': 'text/plain' })).code).toBe(
      'unsupported_media_type',
    );
    expect(errorOf(() => adapter.parse(request('{', ceHeaders('zotregistry.image.updated')))).code).toBe(
      'bad_request',
    );
  });

  it('authenticates Basic and Bearer credentials', () => {
    const basic = `Basic ${Buffer.from('zot:pw').toString('base64')}`;
    const req = request({}, { authorization: basic });
    expect(() => adapter.authenticate(req, { type: 'basic', username: 'zot', password: 'pw' })).not.toThrow();
    expect(errorOf(() => adapter.authenticate(req, { type: 'bearer', token: 'pw' })).code).toBe(
      'unauthorized',
    );
  });
});
