import { getAdapter } from '../adapters.js';
import { D1, errorOf, request, rejectionOf } from '../spec-helpers.js';

const adapter = getAdapter('ecr');
const OCI = 'application/vnd.oci.image.manifest.v1+json';

function ecrEvent(detail: Record<string, unknown>, detailType = 'ECR Image Action', source = 'aws.ecr') {
  return {
    version: '0',
    id: 'evt-1',
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: '2024-05-01T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: { result: 'SUCCESS', 'repository-name': 'team/app', ...detail },
  };
}
const parse = (body: unknown, type = 'application/json; charset=utf-8') =>
  adapter.parse(request(body, { 'content-type': type }));

describe('ecr adapter', () => {
  it('reads a tagged push with its media type', () => {
    const body = ecrEvent({
      'action-type': 'PUSH',
      'image-digest': D1,
      'image-tag': 'v1',
      'manifest-media-type': OCI,
    });
    expect(parse(body)).toEqual({
      events: [
        {
          action: 'push',
          repository: 'team/app',
          digest: D1,
          tag: 'v1',
          mediaType: OCI,
          occurredAt: new Date('2024-05-01T10:00:00Z'),
          senderEventId: 'evt-1',
        },
      ],
      ignored: 0,
    });
  });

  it('reads an untagged push and a delete', () => {
    expect(parse(ecrEvent({ 'action-type': 'PUSH', 'image-digest': D1 })).events[0]).toMatchObject({
      digest: D1,
    });
    expect(parse(ecrEvent({ 'action-type': 'DELETE', 'image-digest': D1 })).events[0]).toMatchObject({
      action: 'delete',
      digest: D1,
    });
  });

  it('reads a delete naming a tag as an untag', () => {
    const [e] = parse(ecrEvent({ 'action-type': 'DELETE', 'image-digest': D1, 'image-tag': 'v1' })).events;
    expect(e).toMatchObject({ action: 'delete', tag: 'v1' });
    expect(e?.digest).toBeUndefined();
  });

  it('keeps the tag and drops an invalid digest (60 hex, as in the docs)', () => {
    const [e] = parse(
      ecrEvent({
        'action-type': 'DELETE',
        'image-digest': `sha256:${'a'.repeat(60)}`,
        'image-tag': 'latest',
      }),
    ).events;
    expect(e).toEqual({
      action: 'delete',
      repository: 'team/app',
      tag: 'latest',
      occurredAt: new Date('2024-05-01T10:00:00Z'),
      senderEventId: 'evt-1',
    });
  });

  it('ignores failures, other actions, other detail types and other sources', () => {
    expect(parse(ecrEvent({ 'action-type': 'PUSH', result: 'FAILURE', 'image-digest': D1 }))).toEqual({
      events: [],
      ignored: 1,
    });
    expect(
      parse(ecrEvent({ 'action-type': 'UPDATE_STORAGE_CLASS', 'image-digest': D1 }, 'ECR Referrer Action')),
    ).toEqual({
      events: [],
      ignored: 1,
    });
    expect(parse(ecrEvent({ 'scan-status': 'COMPLETE' }, 'ECR Image Scan'))).toEqual({
      events: [],
      ignored: 1,
    });
    expect(
      parse(ecrEvent({ 'action-type': 'PUSH', 'image-digest': D1 }, 'ECR Image Action', 'custom.app')),
    ).toEqual({
      events: [],
      ignored: 1,
    });
  });

  it('rejects missing detail fields, malformed JSON and other content types', () => {
    expect(
      rejectionOf(
        parse(ecrEvent({ 'action-type': 'PUSH', 'repository-name': undefined, 'image-digest': D1 })),
      ).message,
    ).toBe('detail.repository-name: missing repository name');
    expect(rejectionOf(parse({ ...ecrEvent({}), detail: 'x' })).message).toMatch(/^detail: /);
    expect(
      errorOf(() => adapter.parse(request('{"version":', { 'content-type': 'application/json' }))).code,
    ).toBe('bad_request');
    expect(errorOf(() => parse(ecrEvent({}), 'application/cloudevents+json')).code).toBe(
      'unsupported_media_type',
    );
  });

  it('authenticates the API destination connection (API key header)', () => {
    const req = request(ecrEvent({}), { 'x-api-key': 'k3y' });
    expect(() =>
      adapter.authenticate(req, { type: 'header', name: 'x-api-key', value: 'k3y' }),
    ).not.toThrow();
    expect(
      errorOf(() => adapter.authenticate(req, { type: 'header', name: 'x-api-key', value: 'k3y!' })).code,
    ).toBe('unauthorized');
  });
});
