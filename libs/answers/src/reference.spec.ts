import { parseImageReference, parseReference, servesHost } from './reference.js';

describe('image references, as container runtimes read them', () => {
  it.each([
    ['nginx', 'docker.io', 'library/nginx', 'latest'],
    ['nginx:1.27', 'docker.io', 'library/nginx', '1.27'],
    ['local/app:v1', 'docker.io', 'local/app', 'v1'],
    ['docker.io/local/app:v1', 'docker.io', 'local/app', 'v1'],
    ['index.docker.io/nginx', 'docker.io', 'library/nginx', 'latest'],
    ['ghcr.io/acme/app:v2', 'ghcr.io', 'acme/app', 'v2'],
    ['127.0.0.1:5000/team/app:v1', '127.0.0.1:5000', 'team/app', 'v1'],
    ['localhost/app', 'localhost', 'app', 'latest'],
  ])('%s is %s / %s : %s', (input, registry, repository, tag) => {
    expect(parseImageReference(input)).toMatchObject({ registry, repository, tag });
  });

  it('a first component without a dot, colon or localhost is never a registry host', () => {
    // refgraph's references read `local` as a registry name; a pod image reads it as Docker Hub.
    expect(parseReference('local/app:v1').registry).toBe('local');
    expect(parseImageReference('local/app:v1').registry).toBe('docker.io');
  });

  it('matches Docker Hub by any of its host names, and other hosts exactly', () => {
    expect(servesHost('https://registry-1.docker.io', 'docker.io')).toBe(true);
    expect(servesHost('http://127.0.0.1:5000', '127.0.0.1:5000')).toBe(true);
    expect(servesHost('http://127.0.0.1:5000', '127.0.0.1')).toBe(false);
  });

  it('refuses bare digests and malformed names', () => {
    expect(() => parseImageReference(`sha256:${'a'.repeat(64)}`)).toThrow(/needs a repository/);
    expect(() => parseImageReference('not a reference')).toThrow(/expected an image/);
  });
});
