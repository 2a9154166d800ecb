import type { RegistryKind } from '#config';
import type { RegistryEvent, RejectionReason, WebhookErrorCode } from '#webhooks';

/**
 * What a correct adapter makes of each payload in the corpus's webhooks/ directory, according to
 * that directory's README. Where the README says a file is only part of what goes on the wire,
 * the case wraps it the way the sender would, and its name says so.
 */
export type Named = Pick<RegistryEvent, 'action' | 'repository'> & { digest?: string; tag?: string };
/** `rejected`: the reasons of the events refused one by one (the delivery itself is admitted). */
export type Expected =
  | { events: Named[]; ignored: number; rejected?: RejectionReason[] }
  | { error: WebhookErrorCode; message: RegExp };

export interface Case {
  name: string;
  kind: RegistryKind;
  headers: Record<string, string>;
  /** Turns the file's bytes into the request body; absent means the file is the body. */
  wrap?: (file: Buffer) => Buffer;
  expected: Expected;
}

const json = { 'content-type': 'application/json' };
const distributionV1 = { 'content-type': 'application/vnd.docker.distribution.events.v1+json' };
const distributionV2 = { 'content-type': 'application/vnd.docker.distribution.events.v2+json' };
const cloudEvents = { 'content-type': 'application/cloudevents+json' };
const github = (event: string) => ({ ...json, 'x-github-event': event });
const zotBinary = {
  ...json,
  'ce-specversion': '1.0',
  'ce-id': '1',
  'ce-source': 'zotregistry.dev',
  'ce-type': 'zotregistry.image.updated',
};

/** Pub/Sub push: the message data arrives base64-encoded in the standard wrapper. */
const pubsubPush = (file: Buffer): Buffer =>
  Buffer.from(
    JSON.stringify({
      message: {
        data: file.toString('base64'),
        attributes: {},
        messageId: '1',
        publishTime: '2024-01-01T00:00:00Z',
      },
      subscription: 'projects/p/subscriptions/s',
    }),
  );

/** JFrog wraps the event data in its envelope; the file's text is spliced in unchanged. */
const jfrogEnvelope =
  (eventType: string) =>
  (file: Buffer): Buffer =>
    Buffer.from(`{"domain":"docker","event_type":"${eventType}","data":${file.toString('utf8')}}`);

type Options = Partial<Pick<Case, 'wrap'>>;

const accepts = (
  name: string,
  kind: RegistryKind,
  headers: Case['headers'],
  events: Named[],
  ignored = 0,
  options: Options = {},
): Case => ({ name, kind, headers, expected: { events, ignored }, ...options });

const refuses = (
  name: string,
  kind: RegistryKind,
  headers: Case['headers'],
  message: RegExp,
  options: Options = {},
): Case => ({ name, kind, headers, expected: { error: 'bad_request', message }, ...options });

/** The delivery is admitted; its one event, whose only identification is unusable, is rejected alone. */
const rejects = (
  name: string,
  kind: RegistryKind,
  headers: Case['headers'],
  reasons: RejectionReason[],
  ignored = 0,
  options: Options = {},
): Case => ({ name, kind, headers, expected: { events: [], ignored, rejected: reasons }, ...options });

const D = (hex: string) => `sha256:${hex}`;
const ALPINE_954 = D('954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4');
const ALPINE_2BB = D('2bb501e6173d9d006e56de5bce2720eb06396803300fe1687b58a7ff32bf4c14');
const ACR_HELLO = D('80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d');
const ACR_GRID = D('213bbc182920ab41e18edc2001e06abcca6735d87782d9cef68abd83941cf0e5');
const UBUNTU_LIST = D('35c4a2c15539c6c1e4e5fa4e554dac323ad0107d8eb5c582d6ff386b383b7dce');
const GITHUB_VERSION = D('3da1996a8115d7616457760d9920b815241d0a03b34cf5f04e9a0e9d8de37498');
const DOCS_MANIFEST = D('fea8895f450959fa676bcc1df0611ea93823a735a01205fd8622846041d0c7cf');
const RUMPUT = D('76525f02955aec223342400a080c73024c995c9db1ba2eabf7505cf3bdf3f1f0');
const DEBIAN = D('8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8');
const GAR_REPO = 'my-project/my-repo/hello-world';
const UBUNTU = 'docker-remote-cache/library/ubuntu';
const GITHUB_REPO = 'codertocat/hello-world/hello-world-npm';

export const CASES: Record<string, Case[]> = {
  'acr-delete-docs-2023-masked.json': [
    rejects('masked digest, no tag: the event is rejected, not the delivery', 'acr', json, [
      'invalid_digest',
    ]),
  ],
  'acr-delete-docs.json': [
    accepts('manifest delete', 'acr', json, [
      { action: 'delete', repository: 'hello-world', digest: ACR_HELLO },
    ]),
  ],
  'acr-eventgrid-imagedeleted-docs-2018.json': [
    accepts('Event Grid delete', 'acr', json, [
      { action: 'delete', repository: 'aci-helloworld', digest: ACR_GRID },
    ]),
  ],
  'acr-eventgrid-imagepushed-docs-2018.json': [
    accepts('Event Grid push', 'acr', json, [
      { action: 'push', repository: 'aci-helloworld', digest: ACR_GRID, tag: 'v1' },
    ]),
  ],
  'acr-push-docs-2023-masked.json': [
    accepts('masked digest dropped, tag kept', 'acr', json, [
      { action: 'push', repository: 'hello-world', tag: 'v1' },
    ]),
  ],
  'acr-push-docs.json': [
    accepts('tagged push', 'acr', json, [
      { action: 'push', repository: 'hello-world', digest: ACR_HELLO, tag: 'v1' },
    ]),
  ],
  'distribution-delete-target-fragment-docs.json': [
    refuses('fragment without envelope: refused', 'distribution', distributionV1, /^events: /),
  ],
  'distribution-pull-envelope-docs.json': [accepts('pull ignored', 'distribution', distributionV1, [], 1)],
  'distribution-push-envelope-docs-http-example.json': [
    accepts(
      'manifest push kept, two blob pushes (65-hex digests) ignored',
      'distribution',
      distributionV1,
      [{ action: 'push', repository: 'library/test', digest: DOCS_MANIFEST }],
      2,
    ),
  ],
  'distribution-v2.8-push-envelope-testfixture.json': [
    rejects(
      'manifest push with invalid digest and no tag rejected, two blob pushes ignored',
      'distribution',
      distributionV1,
      ['invalid_digest'],
      2,
    ),
  ],
  'distribution-v3-push-envelope-testfixture.json': [
    rejects(
      'manifest push with invalid digest and no tag rejected, two blob pushes ignored',
      'distribution',
      distributionV2,
      ['invalid_digest'],
      2,
    ),
  ],
  'dockerhub-push-captured-hub-feedback-2148.json': [
    accepts('tag push', 'dockerhub', json, [
      { action: 'push', repository: 'fireflyiii/core', tag: 'develop' },
    ]),
  ],
  'dockerhub-push-docs.json': [
    accepts('tag push', 'dockerhub', json, [
      { action: 'push', repository: 'svendowideit/testhook', tag: 'latest' },
    ]),
  ],
  'ecr-eventbridge-delete-docs.json': [
    accepts('60-hex digest dropped, untag kept', 'ecr', json, [
      { action: 'delete', repository: 'my-repository-name', tag: 'latest' },
    ]),
  ],
  'ecr-eventbridge-push-docs.json': [
    accepts('60-hex digest dropped, tag push kept', 'ecr', json, [
      { action: 'push', repository: 'my-repository-name', tag: 'latest' },
    ]),
  ],
  'ecr-eventbridge-referrer-restore-docs.json': [accepts('storage-class change ignored', 'ecr', json, [], 1)],
  'gar-pubsub-delete-tag.json': [
    accepts(
      'tag delete, in the Pub/Sub push wrapper',
      'gar',
      json,
      [{ action: 'delete', repository: GAR_REPO, tag: '1.1' }],
      0,
      {
        wrap: pubsubPush,
      },
    ),
  ],
  'gar-pubsub-insert-digest-only.json': [
    rejects(
      'elided digest, no tag: the event is rejected, in the Pub/Sub push wrapper',
      'gar',
      json,
      ['invalid_digest'],
      0,
      { wrap: pubsubPush },
    ),
  ],
  'gar-pubsub-insert-tagged.json': [
    accepts(
      'elided digest dropped, tag push kept, in the Pub/Sub push wrapper',
      'gar',
      json,
      [{ action: 'push', repository: GAR_REPO, tag: '1.1' }],
      0,
      { wrap: pubsubPush },
    ),
  ],
  'github-package-published-docker.json': [
    accepts('untagged version, digest from the version', 'ghcr', github('package'), [
      { action: 'push', repository: GITHUB_REPO, digest: GITHUB_VERSION },
    ]),
  ],
  'github-registry_package-published-docker.json': [
    accepts('untagged version, digest from the version', 'ghcr', github('registry_package'), [
      { action: 'push', repository: GITHUB_REPO, digest: GITHUB_VERSION },
    ]),
  ],
  'harbor-delete-cloudevents.json': [
    accepts('artifact delete', 'harbor', cloudEvents, [
      { action: 'delete', repository: 'harbor/alpine', digest: ALPINE_2BB },
    ]),
  ],
  'harbor-delete-default.json': [
    accepts('artifact delete', 'harbor', json, [
      { action: 'delete', repository: 'harbor/alpine', digest: ALPINE_2BB },
    ]),
  ],
  'harbor-pull-default-unittest-exactbytes.json': [accepts('pull ignored', 'harbor', json, [], 1)],
  'harbor-pull-default.json': [accepts('pull ignored', 'harbor', json, [], 1)],
  'harbor-push-cloudevents.json': [
    accepts('untagged push', 'harbor', cloudEvents, [
      { action: 'push', repository: 'harbor/alpine', digest: ALPINE_954 },
    ]),
  ],
  'harbor-push-default-tagged-captured-thirdparty.json': [
    accepts('tagged push', 'harbor', json, [
      { action: 'push', repository: 'library/rumput', digest: RUMPUT, tag: 'v1' },
    ]),
  ],
  'harbor-push-default-tagged-v2.0-docs.json': [
    accepts('tagged push', 'harbor', json, [
      { action: 'push', repository: 'test-webhook/debian', digest: DEBIAN, tag: 'latest' },
    ]),
  ],
  'harbor-push-default.json': [
    accepts('untagged push', 'harbor', json, [
      { action: 'push', repository: 'harbor/alpine', digest: ALPINE_954 },
    ]),
  ],
  'jfrog-docker-deleted-docs-data.json': [
    refuses('data without envelope: refused', 'artifactory', json, /^domain: /),
    accepts(
      'placeholder checksum dropped, untag kept, in the JFrog envelope',
      'artifactory',
      json,
      [{ action: 'delete', repository: 'sample_repo/sample_arch', tag: 'sample_image' }],
      0,
      { wrap: jfrogEnvelope('deleted') },
    ),
  ],
  'jfrog-docker-pushed-docs-data.json': [
    refuses('data without envelope: refused', 'artifactory', json, /^domain: /),
    accepts(
      'tag push, in the JFrog envelope',
      'artifactory',
      json,
      [{ action: 'push', repository: UBUNTU, digest: UBUNTU_LIST, tag: 'latest' }],
      0,
      { wrap: jfrogEnvelope('pushed') },
    ),
  ],
  'jfrog-docker-pushed-envelope-keel-testfixture.json': [
    accepts('tag push', 'artifactory', json, [
      { action: 'push', repository: UBUNTU, digest: UBUNTU_LIST, tag: 'latest' },
    ]),
  ],
  'quay-repo_push-docs.json': [
    accepts('tag push', 'quay', json, [{ action: 'push', repository: 'dgangaia/test', tag: 'latest' }]),
  ],
  'zot-image-updated-data-pr3959.json': [
    accepts('elided digest dropped, tag push kept, with binary-mode CloudEvents headers', 'zot', zotBinary, [
      { action: 'push', repository: 'space/my-image', tag: 'latest' },
    ]),
  ],
};
