import { getAdapter } from '../adapters.js';
import { D1, D2, errorOf, hmacHex, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('ghcr');
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

function packagePayload(
  over: { tag?: string; version?: string; type?: string; action?: string; manifestDigest?: string } = {},
) {
  return {
    action: over.action ?? 'published',
    package: {
      id: 1,
      name: 'Tools/CLI',
      namespace: 'Octo-Org',
      ecosystem: over.type ?? 'CONTAINER',
      package_type: over.type ?? 'CONTAINER',
      owner: { login: 'Octo-Org' },
      package_version: {
        id: 2,
        version: over.version ?? D1,
        name: over.version ?? D1,
        created_at: '0001-01-01T00:00:00Z',
        container_metadata: {
          tag: { name: over.tag ?? 'v1.2.3', digest: D1 },
          manifest: {
            digest: over.manifestDigest ?? D1,
            media_type: LIST,
            uri: `repositories/octo-org/tools/cli/manifests/${D1}`,
          },
        },
      },
    },
  };
}
const headers = (event: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  'x-github-event': event,
  'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  ...extra,
});
const parse = (body: unknown, event = 'package', extra?: Record<string, string>) =>
  adapter.parse(request(body, headers(event, extra)));

describe('ghcr adapter', () => {
  it('turns a published container version into a push with the delivery id', () => {
    expect(parse(packagePayload())).toEqual({
      events: [
        {
          action: 'push',
          repository: 'octo-org/tools/cli',
          digest: D1,
          tag: 'v1.2.3',
          mediaType: LIST,
          senderEventId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
        },
      ],
      ignored: 0,
    });
  });

  it('reads registry_package events from their own key', () => {
    const { package: pkg, ...rest } = packagePayload({ action: 'updated' });
    expect(parse({ ...rest, registry_package: pkg }, 'registry_package').events).toHaveLength(1);
    expect(errorOf(() => parse(packagePayload(), 'registry_package')).message).toBe(
      'registry_package: missing',
    );
  });

  it('has no tag for untagged versions (empty tag name)', () => {
    const [e] = parse(packagePayload({ tag: '' })).events;
    expect(e?.tag).toBeUndefined();
    expect(e?.digest).toBe(D1);
  });

  it('takes the digest from the version, using the manifest block only as a fallback', () => {
    expect(parse(packagePayload({ manifestDigest: D2 })).events[0]?.digest).toBe(D1);
    expect(parse(packagePayload({ version: 'v1', manifestDigest: D2 })).events[0]?.digest).toBe(D2);
  });

  it('ignores ping, other events, non-container packages and other actions', () => {
    expect(parse({ zen: 'Keep it logically awesome.', hook_id: 1 }, 'ping')).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse({}, 'push')).toEqual({ events: [], ignored: 1 });
    expect(parse(packagePayload({ type: 'npm' }), 'package')).toEqual({ events: [], ignored: 1 });
    expect(parse(packagePayload({ action: 'deleted' }))).toEqual({ events: [], ignored: 1 });
  });

  it('reads form-encoded deliveries', () => {
    const body = `payload=${encodeURIComponent(JSON.stringify(packagePayload()))}`;
    const req = request(body, headers('package', { 'content-type': 'application/x-www-form-urlencoded' }));
    expect(adapter.parse(req).events[0]?.digest).toBe(D1);
  });

  it('rejects a missing event header, wrong shapes, malformed JSON and other types', () => {
    const req = request(packagePayload());
    expect(errorOf(() => adapter.parse(req)).message).toBe('missing X-GitHub-Event header');
    expect(errorOf(() => parse({ action: 'published', package: { name: 'x' } })).message).toMatch(
      /^package\.package_version: /,
    );
    expect(errorOf(() => adapter.parse(request('{', headers('package')))).code).toBe('bad_request');
    expect(errorOf(() => parse(packagePayload(), 'package', { 'content-type': 'text/plain' })).code).toBe(
      'unsupported_media_type',
    );
  });

  it('refuses a version without any valid digest or tag', () => {
    expect(rejectionOf(parse(packagePayload({ tag: '', version: 'sha256:1234' }))).message).toMatch(
      /^package\.package_version\.version: "sha256:1234" is not a valid digest/,
    );
  });

  it('verifies X-Hub-Signature-256 over the raw body', () => {
    const raw = Buffer.from(JSON.stringify(packagePayload()));
    const auth = { type: 'hmac-sha256', secret: 'hook-secret' } as const;
    const signed = request(
      raw,
      headers('package', { 'x-hub-signature-256': `sha256=${hmacHex('hook-secret', raw)}` }),
    );
    expect(() => adapter.authenticate(signed, auth)).not.toThrow();
    const forged = request(
      raw,
      headers('package', { 'x-hub-signature-256': `sha256=${hmacHex('other', raw)}` }),
    );
    const err = errorOf(() => adapter.authenticate(forged, auth));
    expect(err.code).toBe('unauthorized');
    expect(err.message).not.toContain('hook-secret');
    expect(errorOf(() => adapter.authenticate(request(raw, headers('package')), auth)).code).toBe(
      'unauthorized',
    );
  });
});
