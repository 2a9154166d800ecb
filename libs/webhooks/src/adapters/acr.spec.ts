import { getAdapter } from '../adapters.js';
import { D1, errorOf, rejectionOf, request } from '../spec-helpers.js';

const adapter = getAdapter('acr');
const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

function acrEvent(action: string, target: Record<string, unknown>, id = 'acr-1') {
  return {
    id,
    timestamp: '2024-05-01T10:00:00.123456789Z',
    action,
    target: { mediaType: MANIFEST, repository: 'app', ...target },
    request: { id: 'r', host: 'reg.example.test', method: 'PUT', useragent: 'test' },
  };
}
function gridEvent(eventType: string, data: unknown, id = 'grid-1') {
  return {
    id,
    topic: '/subscriptions/x',
    subject: 'app:v1',
    eventType,
    eventTime: '2024-05-01T10:00:01Z',
    data,
    dataVersion: '1.0',
  };
}
const parse = (body: unknown, type = 'application/json') =>
  adapter.parse(request(body, { 'content-type': type }));
const PUSHED = {
  action: 'push',
  repository: 'app',
  digest: D1,
  tag: 'v1',
  mediaType: MANIFEST,
  occurredAt: new Date('2024-05-01T10:00:00.123Z'),
  senderEventId: 'acr-1',
};

describe('acr adapter', () => {
  it('reads a bare webhook push', () => {
    expect(parse(acrEvent('push', { digest: D1, tag: 'v1', size: 524 }))).toEqual({
      events: [PUSHED],
      ignored: 0,
    });
  });

  it('reads a delete that names the digest only', () => {
    expect(parse(acrEvent('delete', { digest: D1 })).events).toEqual([
      {
        action: 'delete',
        repository: 'app',
        digest: D1,
        mediaType: MANIFEST,
        occurredAt: PUSHED.occurredAt,
        senderEventId: 'acr-1',
      },
    ]);
  });

  it('ignores chart, quarantine and ping actions, and repository deletes', () => {
    for (const action of ['chart_push', 'chart_delete', 'quarantine', 'ping']) {
      expect(parse(acrEvent(action, { digest: D1 }))).toEqual({ events: [], ignored: 1 });
    }
    expect(parse({ id: 'x', action: 'delete', target: { repository: 'app' } })).toEqual({
      events: [],
      ignored: 1,
    });
  });

  it('rejects a delete whose digest is invalid (masked docs) but keeps a tagged push without it', () => {
    const masked = 'sha256:xxxxd5c8786bb9e621a45ece0dbxxxx1cdc624ad20da9fe62e9d25490f33xxxx';
    expect(rejectionOf(parse(acrEvent('delete', { digest: masked }))).message).toMatch(
      /^target\.digest: "sha256:xxxx/,
    );
    const [e] = parse(acrEvent('push', { digest: masked, tag: 'v1' })).events;
    expect(e).toMatchObject({ action: 'push', tag: 'v1' });
    expect(e?.digest).toBeUndefined();
  });

  it('reads an Event Grid batch, using the registry event id', () => {
    const body = [
      gridEvent('Microsoft.ContainerRegistry.ImagePushed', acrEvent('push', { digest: D1, tag: 'v1' })),
      gridEvent('ImageDeleted', acrEvent('delete', { digest: D1 }, 'acr-2'), 'grid-2'),
      gridEvent('Microsoft.ContainerRegistry.ChartPushed', { action: 'chart_push' }, 'grid-3'),
    ];
    const result = parse(body);
    expect(result.ignored).toBe(1);
    expect(result.events.map((e) => [e.action, e.senderEventId])).toEqual([
      ['push', 'acr-1'],
      ['delete', 'acr-2'],
    ]);
  });

  it('answers the Event Grid subscription validation handshake', () => {
    const body = [
      gridEvent('Microsoft.EventGrid.SubscriptionValidationEvent', {
        validationCode: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6',
        validationUrl: 'https://validation.example.test/x',
      }),
    ];
    expect(parse(body)).toEqual({
      events: [],
      ignored: 0,
      reply: { status: 200, body: { validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' } },
    });
    expect(
      errorOf(() => parse([gridEvent('Microsoft.EventGrid.SubscriptionValidationEvent', {})])).message,
    ).toMatch(/^\[0\]\.data\.validationCode: /);
  });

  it('reads Event Grid CloudEvents, single and batched', () => {
    const ce = (id: string) => ({
      specversion: '1.0',
      id,
      source: '/subscriptions/x',
      type: 'Microsoft.ContainerRegistry.ImagePushed',
      time: '2024-05-01T10:00:01Z',
      data: acrEvent('push', { digest: D1, tag: 'v1' }),
    });
    expect(parse(ce('c1'), 'application/cloudevents+json').events).toEqual([PUSHED]);
    const batch = parse(
      [ce('c1'), { ...ce('c2'), type: 'Microsoft.ContainerRegistry.ChartDeleted' }],
      'application/cloudevents-batch+json',
    );
    expect(batch).toEqual({ events: [PUSHED], ignored: 1 });
    expect(errorOf(() => parse(ce('c1'), 'application/cloudevents-batch+json')).message).toMatch(
      /must be a JSON array/,
    );
  });

  it('rejects malformed JSON, misshapen events and other content types', () => {
    expect(errorOf(() => adapter.parse(request('[{', { 'content-type': 'application/json' }))).code).toBe(
      'bad_request',
    );
    expect(errorOf(() => parse({ target: {} })).message).toMatch(/^action: /);
    // In a batch, a misshapen event is rejected alone.
    const batch = parse([{ data: {} }, gridEvent('ImagePushed', acrEvent('push', { digest: D1 }))]);
    expect(batch.events).toHaveLength(1);
    expect(batch.rejected?.map((r) => r.message)).toEqual([expect.stringMatching(/^\[0\]\.eventType: /)]);
    expect(errorOf(() => parse(acrEvent('push', { digest: D1 }), 'text/plain')).code).toBe(
      'unsupported_media_type',
    );
  });

  it('authenticates with a custom header', () => {
    const req = request(acrEvent('push', {}), { 'x-refgraph-token': 'tok' });
    expect(() =>
      adapter.authenticate(req, { type: 'header', name: 'X-Refgraph-Token', value: 'tok' }),
    ).not.toThrow();
    expect(
      errorOf(() => adapter.authenticate(req, { type: 'header', name: 'X-Other', value: 'tok' })).message,
    ).toBe('missing X-Other header');
  });
});
