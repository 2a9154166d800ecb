import { getAdapter } from '../adapters.js';
import { errorOf, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('dockerhub');
const parse = (body: unknown, type = 'application/json') =>
  adapter.parse(request(body, { 'content-type': type }));
const push = (
  tag: unknown,
  repo: Record<string, unknown> = { repo_name: 'org/app', namespace: 'org', name: 'app' },
) => ({
  callback_url: 'https://hub.example.test/callback',
  push_data: { pushed_at: 1700000000, images: [], tag, pusher: 'someone' },
  repository: repo,
});

describe('dockerhub adapter', () => {
  it('turns a push into a tag-only push event with its time', () => {
    expect(parse(push('develop'))).toEqual({
      events: [
        { action: 'push', repository: 'org/app', tag: 'develop', occurredAt: new Date(1700000000 * 1000) },
      ],
      ignored: 0,
    });
  });

  it('puts single-component names under library/', () => {
    expect(parse(push('1', { repo_name: 'nginx' })).events[0]?.repository).toBe('library/nginx');
  });

  it('rejects a push without a tag, a missing push_data and other content types', () => {
    expect(rejectionOf(parse(push(''))).message).toBe('push_data: names neither a digest nor a tag');
    expect(errorOf(() => parse({ repository: { repo_name: 'org/app' } })).message).toMatch(/^push_data: /);
    expect(errorOf(() => adapter.parse(request('{]', { 'content-type': 'application/json' }))).code).toBe(
      'bad_request',
    );
    expect(errorOf(() => parse(push('v1'), 'application/x-www-form-urlencoded')).code).toBe(
      'unsupported_media_type',
    );
  });

  it('accepts any request under none and refuses hmac, which Docker Hub cannot send', () => {
    const req = request(push('v1'));
    expect(() => adapter.authenticate(req, { type: 'none' })).not.toThrow();
    expect(errorOf(() => adapter.authenticate(req, { type: 'hmac-sha256', secret: 'x' })).code).toBe(
      'unauthorized',
    );
  });
});
