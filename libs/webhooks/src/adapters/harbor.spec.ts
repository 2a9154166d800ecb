import { getAdapter } from '../adapters.js';
import { D1, errorOf, rejectionOf, request } from '../spec-helpers.js';

const adapter = getAdapter('harbor');
const repository = { name: 'app', namespace: 'team', repo_full_name: 'team/app', repo_type: 'private' };

function defaultPayload(type: string, resources: unknown[]) {
  return { type, occur_at: 1700000000, operator: 'admin', event_data: { resources, repository } };
}
function cloudEvent(type: string, resources: unknown[]) {
  return {
    specversion: '1.0',
    id: 'ce-1',
    source: '/projects/1/webhook/policies/2',
    type,
    datacontenttype: 'application/json',
    time: '2024-05-01T10:00:00Z',
    data: { resources, repository },
  };
}
const parse = (body: unknown, type = 'application/json') =>
  adapter.parse(request(body, { 'content-type': type }));

describe('harbor adapter', () => {
  it('reads a tagged push in the default format', () => {
    expect(
      parse(defaultPayload('PUSH_ARTIFACT', [{ digest: D1, tag: 'v1', resource_url: 'h/team/app:v1' }])),
    ).toEqual({
      events: [
        {
          action: 'push',
          repository: 'team/app',
          digest: D1,
          tag: 'v1',
          occurredAt: new Date(1700000000 * 1000),
        },
      ],
      ignored: 0,
    });
  });

  it('drops the tag of an untagged push, where Harbor repeats the digest', () => {
    const [e] = parse(defaultPayload('PUSH_ARTIFACT', [{ digest: D1, tag: D1 }])).events;
    expect(e).toEqual({
      action: 'push',
      repository: 'team/app',
      digest: D1,
      occurredAt: new Date(1700000000 * 1000),
    });
  });

  it('reduces an artifact delete to the digest: every tag went with it', () => {
    const [e] = parse(defaultPayload('DELETE_ARTIFACT', [{ digest: D1, tag: '3.8' }])).events;
    expect(e).toEqual({
      action: 'delete',
      repository: 'team/app',
      digest: D1,
      occurredAt: new Date(1700000000 * 1000),
    });
  });

  it('rejects an artifact delete without a valid digest', () => {
    const err = rejectionOf(
      parse(defaultPayload('DELETE_ARTIFACT', [{ digest: 'sha256:xxxx', tag: '3.8' }])),
    );
    expect(err.message).toBe('event_data.resources[0].digest: a deleted artifact needs a valid digest');
  });

  it('reads structured CloudEvents with id and time', () => {
    const body = cloudEvent('harbor.artifact.pushed', [{ digest: D1, tag: 'v2' }]);
    expect(parse(body, 'application/cloudevents+json; charset=utf-8').events).toEqual([
      {
        action: 'push',
        repository: 'team/app',
        digest: D1,
        tag: 'v2',
        occurredAt: new Date('2024-05-01T10:00:00Z'),
        senderEventId: 'ce-1',
      },
    ]);
  });

  it('gives each resource of a multi-resource CloudEvent its own sender id', () => {
    const body = cloudEvent('harbor.artifact.pushed', [
      { digest: D1, tag: 'a' },
      { digest: D1, tag: 'b' },
    ]);
    const ids = parse(body, 'application/cloudevents+json').events.map((e) => e.senderEventId);
    expect(ids).toEqual(['ce-1#0', 'ce-1#1']);
  });

  it('ignores pulls, scans and other event types in both formats', () => {
    expect(parse(defaultPayload('PULL_ARTIFACT', [{ digest: D1, tag: D1 }]))).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse({ type: 'SCANNING_COMPLETED', occur_at: 1, event_data: { scan_overview: {} } })).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse(cloudEvent('harbor.artifact.pulled', []), 'application/cloudevents+json')).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse({ type: 'constructor', event_data: {} })).toEqual({ events: [], ignored: 1 });
  });

  it('builds the repository from namespace and name when repo_full_name is absent', () => {
    const body = {
      type: 'PUSH_ARTIFACT',
      event_data: { resources: [{ digest: D1 }], repository: { namespace: 'p', name: 'a/b' } },
    };
    expect(parse(body).events[0]?.repository).toBe('p/a/b');
  });

  it('rejects malformed or misshapen payloads and wrong content types', () => {
    expect(
      errorOf(() => adapter.parse(request('{"type":', { 'content-type': 'application/json' }))).code,
    ).toBe('bad_request');
    expect(
      rejectionOf(parse({ type: 'PUSH_ARTIFACT', event_data: { resources: [], repository } })).message,
    ).toMatch(/^event_data\.resources: /);
    expect(
      errorOf(() =>
        parse(
          { ...cloudEvent('harbor.artifact.pushed', []), specversion: '0.3' },
          'application/cloudevents+json',
        ),
      ).message,
    ).toMatch(/^specversion: /);
    expect(errorOf(() => parse(defaultPayload('PUSH_ARTIFACT', []), 'application/xml')).code).toBe(
      'unsupported_media_type',
    );
  });

  it('rejects one resource with an invalid digest and keeps the others', () => {
    const result = parse(defaultPayload('PUSH_ARTIFACT', [{ digest: 'sha256:abc' }, { digest: D1 }]));
    expect(result.events.map((e) => e.digest)).toEqual([D1]);
    expect(result.rejected?.map((r) => r.reason)).toEqual(['invalid_digest']);
  });

  it('rejects a push whose digest is invalid and whose tag is that same digest', () => {
    const bad = 'sha256:abc';
    expect(rejectionOf(parse(defaultPayload('PUSH_ARTIFACT', [{ digest: bad, tag: bad }]))).message).toMatch(
      /^event_data\.resources\[0\]\.digest: "sha256:abc" is not a valid digest/,
    );
  });

  it('checks the Auth Header verbatim as Authorization', () => {
    const req = request(defaultPayload('PUSH_ARTIFACT', []), { authorization: 'raw-token-value' });
    expect(() =>
      adapter.authenticate(req, { type: 'header', name: 'Authorization', value: 'raw-token-value' }),
    ).not.toThrow();
    expect(
      errorOf(() => adapter.authenticate(req, { type: 'header', name: 'Authorization', value: 'raw-token' }))
        .code,
    ).toBe('unauthorized');
  });
});
