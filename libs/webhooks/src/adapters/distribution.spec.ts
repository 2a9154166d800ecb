import { getAdapter } from '../adapters.js';
import { D1, D2, errorOf, rejectionOf, rejections, request } from '../spec-helpers.js';

const adapter = getAdapter('distribution');
const V1 = 'application/vnd.docker.distribution.events.v1+json';
const V2 = 'application/vnd.docker.distribution.events.v2+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function event(action: string, target: Record<string, unknown>, id = 'e1') {
  return { id, timestamp: '2024-05-01T10:00:00Z', action, target: { repository: 'team/app', ...target } };
}
const envelope = (...events: unknown[]) => ({ events });
const parse = (body: unknown, contentType = V1) =>
  adapter.parse(request(body, { 'content-type': contentType }));

describe('distribution adapter', () => {
  it('turns a manifest push into a push event with every field', () => {
    const body = envelope(
      event('push', {
        mediaType: MANIFEST,
        digest: D1,
        tag: 'v1',
        url: `https://r.example.test/v2/team/app/manifests/${D1}`,
      }),
    );
    expect(parse(body)).toEqual({
      events: [
        {
          action: 'push',
          repository: 'team/app',
          digest: D1,
          tag: 'v1',
          mediaType: MANIFEST,
          occurredAt: new Date('2024-05-01T10:00:00Z'),
          senderEventId: 'e1',
        },
      ],
      ignored: 0,
    });
  });

  it.each([V1, V2, 'application/json', `${V2}; charset=utf-8`])('accepts Content-Type %s', (type) => {
    expect(parse(envelope(event('push', { mediaType: MANIFEST, digest: D1 })), type).events).toHaveLength(1);
  });

  it('rejects other content types', () => {
    expect(errorOf(() => parse(envelope(), 'text/plain')).code).toBe('unsupported_media_type');
  });

  it('rejects malformed JSON and bodies that are not an envelope', () => {
    expect(errorOf(() => adapter.parse(request('{"events": [', { 'content-type': V1 }))).code).toBe(
      'bad_request',
    );
    const err = errorOf(() => parse({ target: { digest: D1, repository: 'team/app' } }));
    expect(err.code).toBe('bad_request');
    expect(err.message).toMatch(/^events: /);
  });

  it('rejects a misshapen event alone and keeps the others of its envelope', () => {
    const result = parse(
      envelope(null, { target: {} }, event('push', { mediaType: MANIFEST, digest: D1 }, 'ok'), 'x'),
    );
    expect(result.events.map((e) => e.senderEventId)).toEqual(['ok']);
    expect(result.rejected?.map((r) => r.reason)).toEqual(['malformed', 'malformed', 'malformed']);
    expect(result.rejected?.[1]?.message).toMatch(/^events\[1\]\.action: /);
  });

  it('ignores pulls, mounts, blob pushes and unknown actions in a batch', () => {
    const body = envelope(
      event('pull', { mediaType: MANIFEST, digest: D1, tag: 'v1' }),
      event('mount', { mediaType: 'application/octet-stream', digest: D2, fromRepository: 'other' }),
      event('push', { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D2 }),
      event('push', { mediaType: MANIFEST, digest: D1 }, 'e4'),
      event('teleport', { digest: D1 }),
    );
    const result = parse(body);
    expect(result.ignored).toBe(4);
    expect(result.events.map((e) => e.senderEventId)).toEqual(['e4']);
  });

  it('trusts the media type over the URL, and the URL path when the media type is absent', () => {
    // A blob media type with a manifest URL (as in Distribution's own fixtures) is a blob.
    const blob = event('push', {
      mediaType: 'application/octet-stream',
      digest: D2,
      url: 'http://h/v2/team/app/manifests/latest',
    });
    const byUrl = event('push', { digest: D2, url: `http://h/v2/team/app/blobs/${D2}` });
    const manifestByUrl = event('push', { digest: D1, url: `http://h/v2/team/app/manifests/${D1}` });
    const result = parse(envelope(blob, byUrl, manifestByUrl));
    expect(result.ignored).toBe(2);
    expect(result.events.map((e) => e.digest)).toEqual([D1]);
  });

  it('passes a manifest delete on with only digest and repository', () => {
    expect(
      parse(
        envelope({
          id: 'd',
          timestamp: '2024-05-01T10:00:00Z',
          action: 'delete',
          target: { digest: D1, repository: 'team/app' },
        }),
      ).events,
    ).toEqual([
      {
        action: 'delete',
        repository: 'team/app',
        digest: D1,
        occurredAt: new Date('2024-05-01T10:00:00Z'),
        senderEventId: 'd',
      },
    ]);
  });

  it('treats v3 empty strings as absent: a tag delete has no digest', () => {
    const v3TagDelete = event('delete', { mediaType: '', digest: '', size: 0, tag: 'v1', url: '' });
    const [e] = parse(envelope(v3TagDelete), V2).events;
    expect(e).toEqual({
      action: 'delete',
      repository: 'team/app',
      tag: 'v1',
      occurredAt: new Date('2024-05-01T10:00:00Z'),
      senderEventId: 'e1',
    });
  });

  it('ignores a repository delete, which names neither digest nor tag', () => {
    expect(parse(envelope(event('delete', { mediaType: '', digest: '' })), V2)).toEqual({
      events: [],
      ignored: 1,
    });
  });

  it('lowercases uppercase hex', () => {
    const upper = `sha256:${'A'.repeat(64)}`;
    expect(parse(envelope(event('push', { mediaType: MANIFEST, digest: upper }))).events[0]?.digest).toBe(
      `sha256:${'a'.repeat(64)}`,
    );
  });

  it('keeps a push by tag whose digest is invalid, without the digest', () => {
    const [e] = parse(
      envelope(event('push', { mediaType: MANIFEST, digest: 'sha256:0123', tag: 'v1' })),
    ).events;
    expect(e).toMatchObject({ action: 'push', tag: 'v1' });
    expect(e?.digest).toBeUndefined();
  });

  it('rejects a manifest push with an invalid digest and no tag, keeping what it named', () => {
    const body = envelope(
      event('pull', { digest: D1 }),
      event('push', { mediaType: MANIFEST, digest: 'sha256:0123' }, 'bad'),
      event('push', { mediaType: MANIFEST, digest: D2 }, 'good'),
    );
    const result = parse(body);
    expect(result.ignored).toBe(1);
    expect(result.events.map((e) => e.senderEventId)).toEqual(['good']);
    expect(result.rejected).toEqual([
      {
        reason: 'invalid_digest',
        message: expect.stringMatching(/^events\[1\]\.target\.digest: "sha256:0123" is not a valid digest/),
        action: 'push',
        repository: 'team/app',
        digest: 'sha256:0123',
        senderEventId: 'bad',
      },
    ]);
  });

  it('accepts sha384 and sha512 digests, and names an unknown algorithm as unsupported', () => {
    const d384 = `sha384:${'d'.repeat(96)}`;
    const d512 = `sha512:${'e'.repeat(128)}`;
    const result = parse(
      envelope(
        event('push', { mediaType: MANIFEST, digest: d384 }, 'a'),
        event('push', { mediaType: MANIFEST, digest: d512 }, 'b'),
        event('push', { mediaType: MANIFEST, digest: `md5:${'f'.repeat(32)}` }, 'c'),
        event('push', { mediaType: MANIFEST, digest: `sha384:${'d'.repeat(64)}` }, 'd'),
      ),
    );
    expect(result.events.map((e) => e.digest)).toEqual([d384, d512]);
    expect(result.rejected?.map((r) => [r.senderEventId, r.reason])).toEqual([
      ['c', 'unsupported_digest'],
      ['d', 'invalid_digest'],
    ]);
  });

  it('rejects an event whose id or fields Postgres could not store, and keeps its neighbours', () => {
    const result = parse(
      envelope(
        event('push', { mediaType: MANIFEST, digest: D1 }, 'nul\u0000id'),
        event('push', { mediaType: MANIFEST, digest: D1 }, 'lone\ud800'),
        event('push', { mediaType: MANIFEST, digest: D1 }, 'x'.repeat(300)),
        event('push', { mediaType: MANIFEST, digest: D2 }, 'fine'),
      ),
    );
    expect(result.events).toEqual([expect.objectContaining({ senderEventId: 'fine', digest: D2 })]);
    expect(result.rejected?.map((r) => r.reason)).toEqual(['unstorable', 'unstorable', 'too_long']);
    // The stored copy of what was said holds no NUL; an id that had to change is not kept.
    expect(JSON.stringify(result.rejected)).not.toContain('\\u0000');
    expect(result.rejected?.map((r) => r.senderEventId)).toEqual([undefined, undefined, undefined]);
  });

  it('rejects a manifest push without repository, and one naming neither digest nor tag', () => {
    expect(
      rejectionOf(parse(envelope({ action: 'push', target: { mediaType: MANIFEST, digest: D1 } }))),
    ).toMatchObject({ reason: 'malformed', message: 'events[0].target.repository: missing repository name' });
    expect(rejections(parse(envelope(event('push', { mediaType: MANIFEST }))))).toEqual([
      { reason: 'no_target', message: 'events[0].target: names neither a digest nor a tag' },
    ]);
  });

  it('drops an unreadable timestamp rather than the event', () => {
    const body = envelope({
      action: 'push',
      timestamp: 'yesterday',
      target: { repository: 'a', mediaType: MANIFEST, digest: D1 },
    });
    expect(parse(body).events).toEqual([
      { action: 'push', repository: 'a', digest: D1, mediaType: MANIFEST },
    ]);
  });

  it('authenticates with the static header configured on the endpoint', () => {
    const req = request(envelope(), { 'content-type': V1, authorization: 'Bearer t0ken' });
    expect(() => adapter.authenticate(req, { type: 'bearer', token: 't0ken' })).not.toThrow();
    expect(errorOf(() => adapter.authenticate(req, { type: 'bearer', token: 'other' })).code).toBe(
      'unauthorized',
    );
    expect(errorOf(() => adapter.authenticate(req, { type: 'hmac-sha256', secret: 's' })).code).toBe(
      'unauthorized',
    );
  });
});
