import { D1, D512, errorOf } from '../spec-helpers.js';
import { deleteTarget, normaliseDigest, repositoryName, resolveTarget, splitReference } from './reference.js';

describe('normaliseDigest', () => {
  it('accepts sha256 and sha512 and lowercases the hex', () => {
    expect(normaliseDigest(D1)).toBe(D1);
    expect(normaliseDigest(D512)).toBe(D512);
    expect(normaliseDigest(`sha256:${'AB'.repeat(32)}`)).toBe(`sha256:${'ab'.repeat(32)}`);
  });
  it.each([
    ['wrong length', `sha256:${'a'.repeat(63)}`],
    ['65 hex', `sha256:${'a'.repeat(65)}`],
    ['sha512 length on sha256', `sha256:${'a'.repeat(128)}`],
    ['non-hex', `sha256:${'x'.repeat(64)}`],
    ['elided', 'sha256:abc...'],
    ['unknown algorithm', `md5:${'a'.repeat(32)}`],
    ['uppercase algorithm', `SHA256:${'a'.repeat(64)}`],
    ['bare hex', 'a'.repeat(64)],
    ['trailing newline', `${D1}\n`],
  ])('rejects %s', (_, value) => {
    expect(normaliseDigest(value)).toBeUndefined();
  });
});

describe('resolveTarget', () => {
  const digest = (value?: string | null) => ({ path: 'x.digest', value });
  const tag = (value?: string | null) => ({ path: 'x.tag', value });

  it('keeps both when both are valid', () => {
    expect(resolveTarget(digest(D1), tag('v1'))).toEqual({ digest: D1, tag: 'v1' });
  });
  it('treats empty strings and null as absent', () => {
    expect(resolveTarget(digest(''), tag('v1'))).toEqual({ tag: 'v1' });
    expect(resolveTarget(digest(D1), tag(''))).toEqual({ digest: D1 });
    expect(resolveTarget(digest(null), tag(null))).toEqual({});
  });
  it('drops an invalid digest when a valid tag names the target', () => {
    expect(resolveTarget(digest('sha256:0123456789abcdef0'), tag('latest'))).toEqual({ tag: 'latest' });
  });
  it('drops an invalid tag when the digest names the target', () => {
    expect(resolveTarget(digest(D1), tag(D1))).toEqual({ digest: D1 });
  });
  it('rejects an invalid digest with nothing else to go on, naming the field', () => {
    const err = errorOf(() => resolveTarget(digest('sha256:xxxx'), undefined));
    expect(err.code).toBe('bad_request');
    expect(err.message).toBe(
      'x.digest: "sha256:xxxx" is not a valid digest (sha256:<64 hex>, sha384:<96 hex> or sha512:<128 hex>)',
    );
    expect(err.reason).toBe('invalid_digest');
    expect(errorOf(() => resolveTarget(digest(`md5:${'a'.repeat(32)}`), undefined)).reason).toBe(
      'unsupported_digest',
    );
  });
  it('rejects an invalid tag with nothing else to go on', () => {
    expect(errorOf(() => resolveTarget(undefined, tag('-bad'))).message).toMatch(
      /^x\.tag: "-bad" is not a valid tag/,
    );
    expect(errorOf(() => resolveTarget(undefined, tag('a'.repeat(129)))).code).toBe('bad_request');
  });
});

describe('deleteTarget', () => {
  it('never names both digest and tag', () => {
    expect(deleteTarget({ digest: D1, tag: 'v1' }, 'tag')).toEqual({ tag: 'v1' });
    expect(deleteTarget({ digest: D1, tag: 'v1' }, 'digest')).toEqual({ digest: D1 });
    expect(deleteTarget({ digest: D1 }, 'tag')).toEqual({ digest: D1 });
    expect(deleteTarget({ tag: 'v1' }, 'digest')).toEqual({ tag: 'v1' });
    expect(deleteTarget({}, 'digest')).toEqual({});
  });
});

describe('repositoryName', () => {
  it('accepts nested lowercase names', () => {
    expect(repositoryName('r', 'library/busybox')).toBe('library/busybox');
    expect(repositoryName('r', 'a/b-c/d__e.f')).toBe('a/b-c/d__e.f');
  });
  it.each([['Upper/case'], ['a/../b'], ['/leading'], ['trailing/'], ['a//b'], ['a b'], ['x'.repeat(256)]])(
    'rejects %s',
    (name) => {
      expect(errorOf(() => repositoryName('target.repository', name)).message).toMatch(
        /^target\.repository: ".*" is not a valid repository name$/,
      );
    },
  );
  it('rejects an absent name', () => {
    expect(errorOf(() => repositoryName('target.repository', '')).message).toBe(
      'target.repository: missing repository name',
    );
  });
});

describe('splitReference', () => {
  it('splits host, path, tag and digest', () => {
    expect(splitReference(`reg.example.test/p/r/img@${D1}`)).toEqual({ repository: 'p/r/img', digest: D1 });
    expect(splitReference('reg.example.test/p/r/img:1.1')).toEqual({ repository: 'p/r/img', tag: '1.1' });
    expect(splitReference('localhost:5000/img:v1')).toEqual({ repository: 'img', tag: 'v1' });
    expect(splitReference('localhost:5000/img')).toEqual({ repository: 'img' });
  });
  it('keeps a first component that is not a host', () => {
    expect(splitReference('library/busybox:1')).toEqual({ repository: 'library/busybox', tag: '1' });
  });
});
