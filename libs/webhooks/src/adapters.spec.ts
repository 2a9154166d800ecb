import { REGISTRY_KINDS, type RegistryKind } from '#config';
import { getAdapter, SIGNING_KINDS } from './adapters.js';
import { errorOf, request } from './spec-helpers.js';

describe('getAdapter', () => {
  it.each(REGISTRY_KINDS)('has an adapter for %s', (kind) => {
    expect(getAdapter(kind).kind).toBe(kind);
  });

  it('throws for an unknown kind', () => {
    expect(() => getAdapter('svn' as RegistryKind)).toThrow(/no webhook adapter/);
    expect(() => getAdapter('toString' as RegistryKind)).toThrow(/no webhook adapter/);
  });

  it.each(REGISTRY_KINDS)('%s accepts hmac-sha256 auth only if it signs', (kind) => {
    const attempt = () => getAdapter(kind).authenticate(request('{}'), { type: 'hmac-sha256', secret: 's' });
    const message = errorOf(attempt).message;
    if (SIGNING_KINDS.includes(kind)) expect(message).toMatch(/^missing signature header/);
    else expect(message).toMatch(/does not sign/);
  });

  it.each(REGISTRY_KINDS)('%s refuses an empty body as bad_request', (kind) => {
    const req = request('', {
      'x-github-event': 'package',
      'x-gitea-event': 'package',
      'ce-specversion': '1.0',
      'ce-id': 'i',
      'ce-source': 's',
      'ce-type': 'image.updated',
    });
    expect(errorOf(() => getAdapter(kind).parse(req))).toMatchObject({
      code: 'bad_request',
      message: 'body is empty',
    });
  });
});
