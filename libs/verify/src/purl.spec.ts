import { normalisePurl, purlBase } from './purl.js';

describe('normalisePurl', () => {
  it.each([
    [
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
      'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1',
      'pkg:maven/org.apache.logging.log4j/log4j-core',
    ],
    [
      'pkg:deb/debian/apt@1.8.2?distro=debian-10.2&arch=amd64',
      'pkg:deb/debian/apt@1.8.2?arch=amd64&distro=debian-10.2',
      'pkg:deb/debian/apt',
    ],
    ['pkg:npm/@babel/core@7.0.0', 'pkg:npm/%40babel/core@7.0.0', 'pkg:npm/%40babel/core'],
    [
      'pkg:npm/%40babel/core@7.0.0#lib/index.js',
      'pkg:npm/%40babel/core@7.0.0#lib/index.js',
      'pkg:npm/%40babel/core',
    ],
    [
      'pkg:golang/github.com/a/b?type=module',
      'pkg:golang/github.com/a/b?type=module',
      'pkg:golang/github.com/a/b',
    ],
    ['PKG:PyPI/Django_Rest@1.0', 'pkg:pypi/django-rest@1.0', 'pkg:pypi/django-rest'],
    ['pkg:GitHub/Foo/Bar@v1', 'pkg:github/foo/bar@v1', 'pkg:github/foo/bar'],
    ['pkg:oci/mageia@sha256%3Ad769f2b2', 'pkg:oci/mageia@sha256:d769f2b2', 'pkg:oci/mageia'],
  ])('%s -> %s (base %s)', (raw, purl, purlBase) => {
    expect(normalisePurl(raw)).toEqual({ purl, purlBase });
  });

  it('two spellings of one package compare equal once normalised', () => {
    expect(normalisePurl('pkg:npm/@babel/core@7.0.0')).toEqual(normalisePurl('pkg:NPM/%40babel/core@7.0.0'));
  });

  it.each([null, undefined, '', 'cpe:2.3:a:apache:log4j:2.14.1', 'pkg:npm', 'pkg:/x', 'log4j-core'])(
    'is null for %p',
    (raw) => expect(normalisePurl(raw)).toBeNull(),
  );

  it('purlBase is the base of the canonical form', () => {
    expect(purlBase('pkg:deb/debian/apt@1.8.2?arch=amd64')).toBe('pkg:deb/debian/apt');
    expect(purlBase('cpe:2.3:a:apache:log4j:2.14.1')).toBeNull();
  });
});
