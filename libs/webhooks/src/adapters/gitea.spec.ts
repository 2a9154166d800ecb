import { getAdapter } from '../adapters.js';
import { D1, errorOf, hmacHex, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('gitea');

function packagePayload(action: string, version: string, type = 'container') {
  return {
    action,
    package: {
      id: 1,
      owner: { id: 2, login: 'Team' },
      repository: null,
      creator: { id: 2, login: 'Team' },
      type,
      name: 'tools/app',
      version,
      html_url: 'https://git.example.test/Team/-/packages/container/tools%2Fapp/v1',
      created_at: '2024-05-01T10:00:00Z',
    },
    sender: { id: 2, login: 'Team' },
  };
}
const headers = (extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'x-gitea-event': 'package',
  'x-gitea-delivery': 'dlv-1',
  ...extra,
});
const parse = (body: unknown, extra?: Record<string, string>) => adapter.parse(request(body, headers(extra)));

describe('gitea adapter', () => {
  it('turns a created tag version into a tag-only push', () => {
    expect(parse(packagePayload('created', 'v1'))).toEqual({
      events: [{ action: 'push', repository: 'team/tools/app', tag: 'v1', senderEventId: 'dlv-1' }],
      ignored: 0,
    });
  });

  it('reads by-digest versions as digests, and deletes', () => {
    expect(parse(packagePayload('created', D1)).events[0]).toMatchObject({ action: 'push', digest: D1 });
    expect(parse(packagePayload('deleted', 'v1')).events[0]).toMatchObject({ action: 'delete', tag: 'v1' });
  });

  it('reads Forgejo headers', () => {
    const req = request(packagePayload('created', 'v1'), {
      'content-type': 'application/json',
      'x-forgejo-event': 'package',
      'x-forgejo-delivery': 'fj-1',
    });
    expect(adapter.parse(req).events[0]?.senderEventId).toBe('fj-1');
  });

  it('ignores other event kinds, package types and actions', () => {
    expect(parse({ ref: 'refs/heads/main' }, { 'x-gitea-event': 'push' })).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse(packagePayload('created', '1.0.0', 'npm'))).toEqual({ events: [], ignored: 1 });
    expect(parse(packagePayload('renamed', 'v1'))).toEqual({ events: [], ignored: 1 });
  });

  it('reads form-encoded deliveries', () => {
    const body = `payload=${encodeURIComponent(JSON.stringify(packagePayload('created', 'v1')))}`;
    expect(parse(body, { 'content-type': 'application/x-www-form-urlencoded' }).events).toHaveLength(1);
  });

  it('rejects a missing event header, invalid versions, wrong shapes and other types', () => {
    const req = request(packagePayload('created', 'v1'));
    expect(errorOf(() => adapter.parse(req)).message).toBe('missing X-Gitea-Event or X-Forgejo-Event header');
    expect(rejectionOf(parse(packagePayload('created', 'sha256:12'))).message).toMatch(
      /^package\.version: "sha256:12" is not a valid digest/,
    );
    expect(errorOf(() => parse({ action: 'created' })).message).toMatch(/^package: /);
    expect(errorOf(() => parse('{', {})).code).toBe('bad_request');
    expect(errorOf(() => parse(packagePayload('created', 'v1'), { 'content-type': 'text/plain' })).code).toBe(
      'unsupported_media_type',
    );
  });

  it('verifies X-Gitea-Signature and X-Forgejo-Signature (bare hex) over the raw body', () => {
    const raw = Buffer.from(JSON.stringify(packagePayload('created', 'v1')));
    const auth = { type: 'hmac-sha256', secret: 's3cret' } as const;
    const sig = hmacHex('s3cret', raw);
    expect(() =>
      adapter.authenticate(request(raw, headers({ 'x-gitea-signature': sig })), auth),
    ).not.toThrow();
    expect(() =>
      adapter.authenticate(request(raw, headers({ 'x-forgejo-signature': sig })), auth),
    ).not.toThrow();
    const wrong = request(raw, headers({ 'x-gitea-signature': hmacHex('other', raw) }));
    expect(errorOf(() => adapter.authenticate(wrong, auth)).message).toBe(
      'x-gitea-signature does not match the body',
    );
  });
});
