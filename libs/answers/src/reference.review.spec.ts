import { parseImageReference, parseReference } from './reference.js';

/**
 * Pod specs pin images as `name:tag@digest` (what Renovate and `crane digest` write). A container
 * runtime pulls the digest and ignores the tag, so a verdict must be about the digest: refusing
 * the reference as malformed denies every pinned image of a cluster.
 */
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('references with both a tag and a digest', () => {
  it.each([
    [`nginx:1.27@${DIGEST}`, 'docker.io', 'library/nginx'],
    [`ghcr.io/acme/app:v2@${DIGEST}`, 'ghcr.io', 'acme/app'],
    [`127.0.0.1:5000/team/app:v1@${DIGEST}`, '127.0.0.1:5000', 'team/app'],
  ])('the image %s names the digest in %s / %s', (input, registry, repository) => {
    const ref = parseImageReference(input);
    expect(ref).toMatchObject({ registry, repository, digest: DIGEST });
    // The tag is not what the runtime pulls: nothing may resolve it.
    expect(ref.tag).toBeUndefined();
  });

  it("refgraph's own references read them the same way", () => {
    expect(parseReference(`local/team/app:v1@${DIGEST}`)).toEqual({
      registry: 'local',
      repository: 'team/app',
      digest: DIGEST,
    });
  });

  it('a malformed tag beside the digest is still refused', () => {
    expect(() => parseImageReference(`nginx:-bad@${DIGEST}`)).toThrow(/expected an image/);
  });
});
