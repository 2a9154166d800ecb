import { getAdapter } from '../adapters.js';
import { D1, D2, errorOf, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('gar');
const HOST = 'europe-docker.registry.example.test';

function pushed(data: unknown, extra: Record<string, unknown> = {}) {
  return {
    message: {
      data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64'),
      attributes: {},
      messageId: '2070443601311540',
      publishTime: '2024-05-01T10:00:00.123Z',
      ...extra,
    },
    subscription: 'projects/p/subscriptions/s',
  };
}
const parse = (body: unknown, headers: Record<string, string> = {}) => adapter.parse(request(body, headers));

describe('gar adapter', () => {
  it('decodes a Pub/Sub push and splits the references into names', () => {
    const data = {
      action: 'INSERT',
      digest: `${HOST}/proj/repo/img@${D1}`,
      tag: `${HOST}/proj/repo/img:1.1`,
    };
    expect(parse(pushed(data))).toEqual({
      events: [
        {
          action: 'push',
          repository: 'proj/repo/img',
          digest: D1,
          tag: '1.1',
          occurredAt: new Date('2024-05-01T10:00:00.123Z'),
          senderEventId: '2070443601311540',
        },
      ],
      ignored: 0,
    });
  });

  it('reads digest-only inserts and tag-only deletes', () => {
    expect(parse(pushed({ action: 'INSERT', digest: `${HOST}/p/r/i@${D2}` })).events[0]).toMatchObject({
      action: 'push',
      digest: D2,
    });
    const [e] = parse(pushed({ action: 'DELETE', tag: `${HOST}/p/r/i:1.1` })).events;
    expect(e).toMatchObject({ action: 'delete', repository: 'p/r/i', tag: '1.1' });
    expect(e?.digest).toBeUndefined();
  });

  it('reads a delete naming both references as an image delete', () => {
    const [e] = parse(
      pushed({ action: 'DELETE', digest: `${HOST}/p/r/i@${D1}`, tag: `${HOST}/p/r/i:1.1` }),
    ).events;
    expect(e).toMatchObject({ action: 'delete', digest: D1 });
    expect(e?.tag).toBeUndefined();
  });

  it('accepts snake_case wrapper fields and unwrapped payloads with metadata headers', () => {
    const wrapped = pushed({ action: 'INSERT', digest: `${HOST}/p/r/i@${D1}` });
    const { messageId, publishTime, ...rest } = wrapped.message;
    const snake = { message: { ...rest, message_id: messageId, publish_time: publishTime } };
    expect(parse(snake).events[0]?.senderEventId).toBe(messageId);
    const unwrapped = parse(
      { action: 'INSERT', digest: `${HOST}/p/r/i@${D1}` },
      { 'x-goog-pubsub-message-id': 'm-9', 'x-goog-pubsub-publish-time': '2024-05-01T10:00:00Z' },
    );
    expect(unwrapped.events[0]).toMatchObject({
      senderEventId: 'm-9',
      occurredAt: new Date('2024-05-01T10:00:00Z'),
    });
  });

  it('keeps a tagged insert whose digest is elided, and refuses a digest-only one', () => {
    const [e] = parse(
      pushed({ action: 'INSERT', digest: `${HOST}/p/r/i@sha256:...`, tag: `${HOST}/p/r/i:1.1` }),
    ).events;
    expect(e).toMatchObject({ tag: '1.1' });
    expect(e?.digest).toBeUndefined();
    expect(rejectionOf(parse(pushed({ action: 'INSERT', digest: `${HOST}/p/r/i@sha256:...` }))).message).toBe(
      'message.data.digest: "sha256:..." is not a valid digest (sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>)',
    );
  });

  it('refuses references to different repositories', () => {
    const data = { action: 'INSERT', digest: `${HOST}/p/r/a@${D1}`, tag: `${HOST}/p/r/b:1` };
    expect(rejectionOf(parse(pushed(data))).message).toMatch(/name different repositories/);
  });

  it('ignores unknown actions', () => {
    expect(parse(pushed({ action: 'UPDATE', digest: `${HOST}/p/r/i@${D1}` }))).toEqual({
      events: [],
      ignored: 1,
    });
  });

  it('rejects bad base64, bad inner JSON, wrong shapes and other content types', () => {
    expect(errorOf(() => parse({ message: { data: '***' } })).message).toBe('message.data: not base64');
    expect(errorOf(() => parse(pushed('{"action":'))).message).toMatch(/^message\.data is not valid JSON/);
    expect(rejectionOf(parse(pushed({ digest: 'x' }))).message).toMatch(/^message\.data\.action: /);
    expect(errorOf(() => parse({ message: {} })).message).toMatch(/^message\.data: /);
    expect(errorOf(() => parse(pushed({}), { 'content-type': 'text/plain' })).code).toBe(
      'unsupported_media_type',
    );
  });

  it('authenticates a static bearer token', () => {
    const req = request(pushed({}), { authorization: 'Bearer abc' });
    expect(() => adapter.authenticate(req, { type: 'bearer', token: 'abc' })).not.toThrow();
    expect(errorOf(() => adapter.authenticate(req, { type: 'bearer', token: 'abd' })).code).toBe(
      'unauthorized',
    );
  });
});
