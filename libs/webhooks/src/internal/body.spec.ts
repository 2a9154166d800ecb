import { z } from 'zod';
import { errorOf, request } from '../spec-helpers.js';
import { readJson, requireMediaType, validate } from './body.js';

describe('requireMediaType', () => {
  const accepted = ['application/json', 'application/vnd.docker.distribution.events.v1+json'];
  it('accepts parameters and any capitalisation', () => {
    const req = request('{}', { 'content-type': 'Application/JSON; charset=utf-8' });
    expect(requireMediaType(req, accepted)).toBe('application/json');
  });
  it('rejects a missing or other type with unsupported_media_type', () => {
    const missing = request('{}');
    delete missing.headers['content-type'];
    expect(errorOf(() => requireMediaType(missing, accepted)).code).toBe('unsupported_media_type');
    const err = errorOf(() => requireMediaType(request('{}', { 'content-type': 'text/plain' }), accepted));
    expect(err.code).toBe('unsupported_media_type');
    expect(err.message).toBe(
      'Content-Type "text/plain" is not accepted; expected application/json or application/vnd.docker.distribution.events.v1+json',
    );
  });
});

describe('readJson', () => {
  it('parses JSON and strips a byte-order mark', () => {
    expect(readJson(request('\ufeff{"a":1}'), 'application/json')).toEqual({ a: 1 });
  });
  it('reads the payload field of a form body', () => {
    const body = `payload=${encodeURIComponent('{"a":1}')}`;
    expect(readJson(request(body), 'application/x-www-form-urlencoded')).toEqual({ a: 1 });
    expect(errorOf(() => readJson(request('other=1'), 'application/x-www-form-urlencoded')).message).toBe(
      'form body has no "payload" field',
    );
  });
  it.each([
    ['empty', Buffer.alloc(0), /^body is empty$/],
    ['truncated', Buffer.from('{"events":['), /^body is not valid JSON: /],
    ['not UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /^body is not valid UTF-8$/],
  ])('rejects a %s body as bad_request', (_, body, message) => {
    const err = errorOf(() => readJson(request(body), 'application/json'));
    expect(err.code).toBe('bad_request');
    expect(err.message).toMatch(message);
  });
});

describe('validate', () => {
  it('names the failing path', () => {
    const schema = z.object({ events: z.array(z.object({ action: z.string() })) });
    const err = errorOf(() => validate(schema, { events: [{ action: 1 }] }));
    expect(err.message).toMatch(/^events\[0\]\.action: /);
    expect(errorOf(() => validate(schema, [], 'data')).message).toMatch(/^data: /);
  });
});
