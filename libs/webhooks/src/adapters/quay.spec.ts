import { getAdapter } from '../adapters.js';
import { errorOf, request, rejectionOf, rejections } from '../spec-helpers.js';

const adapter = getAdapter('quay');
const parse = (body: unknown, type = 'application/json') =>
  adapter.parse(request(body, { 'content-type': type }));
const repoPush = (tags: unknown) => ({
  repository: 'org/app',
  namespace: 'org',
  name: 'app',
  docker_url: 'registry.example.test/org/app',
  homepage: 'https://registry.example.test/repository/org/app',
  updated_tags: tags,
});

describe('quay adapter', () => {
  it('turns each updated tag into a tag-only push', () => {
    expect(parse(repoPush(['latest', `sha256-${'a'.repeat(64)}.sig`]))).toEqual({
      events: [
        { action: 'push', repository: 'org/app', tag: 'latest' },
        { action: 'push', repository: 'org/app', tag: `sha256-${'a'.repeat(64)}.sig` },
      ],
      ignored: 0,
    });
  });

  it('falls back to namespace/name when repository is absent', () => {
    expect(parse({ namespace: 'org', name: 'app', updated_tags: ['v1'] }).events[0]?.repository).toBe(
      'org/app',
    );
  });

  it('ignores notifications without updated_tags (builds, vulnerabilities) and empty pushes', () => {
    expect(parse({ repository: 'org/app', build_id: 'b1', docker_tags: ['v1'] })).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse(repoPush([]))).toEqual({ events: [], ignored: 1 });
  });

  it('rejects invalid tags, wrong shapes, malformed JSON and other content types', () => {
    const partly = parse(repoPush(['ok', '-bad']));
    expect(partly.events.map((e) => e.tag)).toEqual(['ok']);
    expect(rejections(partly)).toEqual([
      { reason: 'invalid_name', message: 'updated_tags[1]: "-bad" is not a valid tag' },
    ]);
    expect(errorOf(() => parse(repoPush('latest'))).message).toMatch(/^updated_tags: /);
    expect(rejectionOf(parse({ updated_tags: ['v1'] })).message).toBe('repository: missing repository name');
    expect(errorOf(() => adapter.parse(request('nope', { 'content-type': 'application/json' }))).code).toBe(
      'bad_request',
    );
    expect(errorOf(() => parse(repoPush(['v1']), 'text/html')).code).toBe('unsupported_media_type');
  });

  it('authenticates Basic credentials taken from the webhook URL', () => {
    const req = request({}, { authorization: `Basic ${Buffer.from('quay:pw').toString('base64')}` });
    expect(() =>
      adapter.authenticate(req, { type: 'basic', username: 'quay', password: 'pw' }),
    ).not.toThrow();
    expect(
      errorOf(() => adapter.authenticate(req, { type: 'basic', username: 'quay', password: 'pw2' })).code,
    ).toBe('unauthorized');
  });
});
