import { getAdapter } from '../adapters.js';
import { errorOf, hmacHex, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('artifactory');
const HEX = 'c'.repeat(64);

function envelope(eventType: string, data: Record<string, unknown>, domain = 'docker') {
  return {
    domain,
    event_type: eventType,
    data: {
      repo_key: 'docker-local',
      path: 'team/app/v1/manifest.json',
      name: 'manifest.json',
      image_name: 'team/app',
      ...data,
    },
    subscription_key: 'sub',
    jpd_origin: 'https://jfrog.example.test',
    source: 'someone',
  };
}
const parse = (body: unknown, type = 'application/json') =>
  adapter.parse(request(body, { 'content-type': type }));

describe('artifactory adapter', () => {
  it('prefixes the bare sha256 and puts the repository key in front of the image', () => {
    expect(parse(envelope('pushed', { sha256: HEX.toUpperCase(), tag: 'v1' }))).toEqual({
      events: [{ action: 'push', repository: 'docker-local/team/app', digest: `sha256:${HEX}`, tag: 'v1' }],
      ignored: 0,
    });
  });

  it('reads a delete as an untag, without the digest the tag pointed at', () => {
    expect(parse(envelope('deleted', { sha256: HEX, tag: 'v1' })).events[0]).toEqual({
      action: 'delete',
      repository: 'docker-local/team/app',
      tag: 'v1',
    });
  });

  it('drops a placeholder checksum when the tag is valid, and refuses it without one', () => {
    expect(parse(envelope('deleted', { sha256: 'sample_checksum', tag: 'v1' })).events[0]).toEqual({
      action: 'delete',
      repository: 'docker-local/team/app',
      tag: 'v1',
    });
    expect(rejectionOf(parse(envelope('deleted', { sha256: 'sample_checksum', tag: '' }))).message).toMatch(
      /^data\.sha256: "sample_checksum" is not a valid digest/,
    );
  });

  it('ignores other domains and promotions', () => {
    expect(parse(envelope('deployed', { sha256: HEX }, 'artifact'))).toEqual({ events: [], ignored: 1 });
    expect(parse(envelope('promoted', { sha256: HEX, tag: 'v1' }))).toEqual({ events: [], ignored: 1 });
  });

  it('rejects a bare data object, malformed JSON and other content types', () => {
    expect(errorOf(() => parse({ repo_key: 'r', image_name: 'i', tag: 't', sha256: HEX })).message).toMatch(
      /^domain: /,
    );
    expect(rejectionOf(parse({ ...envelope('pushed', {}), data: { tag: 'v1' } })).message).toMatch(
      /^data\.repo_key: /,
    );
    expect(errorOf(() => adapter.parse(request('{,}', { 'content-type': 'application/json' }))).code).toBe(
      'bad_request',
    );
    expect(errorOf(() => parse(envelope('pushed', {}), 'text/plain')).code).toBe('unsupported_media_type');
  });

  it('accepts the secret itself in X-JFrog-Event-Auth, or an HMAC of the body', () => {
    const raw = Buffer.from(JSON.stringify(envelope('pushed', { sha256: HEX, tag: 'v1' })));
    const plain = request(raw, { 'x-jfrog-event-auth': 'the-secret' });
    expect(() =>
      adapter.authenticate(plain, { type: 'header', name: 'X-JFrog-Event-Auth', value: 'the-secret' }),
    ).not.toThrow();
    const signed = request(raw, { 'x-jfrog-event-auth': hmacHex('the-secret', raw) });
    expect(() => adapter.authenticate(signed, { type: 'hmac-sha256', secret: 'the-secret' })).not.toThrow();
    const err = errorOf(() => adapter.authenticate(plain, { type: 'hmac-sha256', secret: 'the-secret' }));
    expect(err.code).toBe('unauthorized');
    expect(err.message).not.toContain('the-secret');
  });
});
