import type { RegistryKind } from '#config';

/**
 * One well-formed delivery per sender kind (shapes as in libs/webhooks adapter tests), which the
 * fuzzer truncates, mutates and type-confuses so that inputs reach deep into each parser.
 */

const D = `sha256:${'a'.repeat(64)}`;
const OCI = 'application/vnd.oci.image.manifest.v1+json';

export interface Seed {
  body: unknown;
  headers: Record<string, string>;
}

export const SEEDS: Record<RegistryKind, Seed> = {
  distribution: {
    headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
    body: {
      events: [
        {
          id: 'e1',
          timestamp: '2026-01-01T00:00:00.123456789Z',
          action: 'push',
          target: {
            mediaType: OCI,
            digest: D,
            repository: 'team/app',
            tag: 'v1',
            url: `http://r/v2/team/app/manifests/${D}`,
          },
        },
        {
          id: 'e2',
          timestamp: '2026-01-01T00:00:01Z',
          action: 'delete',
          target: { digest: D, repository: 'team/app' },
        },
      ],
    },
  },
  harbor: {
    headers: { 'content-type': 'application/json' },
    body: {
      type: 'PUSH_ARTIFACT',
      occur_at: 1700000000,
      operator: 'admin',
      event_data: {
        resources: [{ digest: D, tag: 'v1', resource_url: 'h/team/app:v1' }],
        repository: { name: 'app', namespace: 'team', repo_full_name: 'team/app', repo_type: 'private' },
      },
    },
  },
  zot: {
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': '6f1c',
      'ce-source': 'zot',
      'ce-type': 'zotregistry.image.updated',
      'ce-time': '2024-05-01T10:00:00Z',
    },
    body: {
      name: 'space/img',
      reference: 'latest',
      digest: D,
      mediaType: OCI,
      manifest: '{"schemaVersion":2}',
    },
  },
  quay: {
    headers: { 'content-type': 'application/json' },
    body: {
      repository: 'org/app',
      namespace: 'org',
      name: 'app',
      docker_url: 'r/org/app',
      updated_tags: ['latest', `sha256-${'a'.repeat(64)}.sig`],
    },
  },
  dockerhub: {
    headers: { 'content-type': 'application/json' },
    body: {
      callback_url: 'https://hub/cb',
      push_data: { pushed_at: 1700000000, images: [], tag: 'v1', pusher: 'me' },
      repository: { repo_name: 'org/app', namespace: 'org', name: 'app' },
    },
  },
  ghcr: {
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'package',
      'x-github-delivery': '72d3162e',
    },
    body: {
      action: 'published',
      package: {
        id: 1,
        name: 'Tools/CLI',
        namespace: 'Octo-Org',
        ecosystem: 'CONTAINER',
        package_type: 'CONTAINER',
        owner: { login: 'Octo-Org' },
        package_version: {
          id: 2,
          version: D,
          name: D,
          created_at: '2024-01-01T00:00:00Z',
          container_metadata: {
            tag: { name: 'v1', digest: D },
            manifest: { digest: D, media_type: OCI, uri: 'x' },
          },
        },
      },
    },
  },
  acr: {
    headers: { 'content-type': 'application/json' },
    body: {
      id: 'acr-1',
      timestamp: '2024-05-01T10:00:00.123456789Z',
      action: 'push',
      target: { mediaType: OCI, repository: 'app', digest: D, tag: 'v1' },
      request: { id: 'r', host: 'reg', method: 'PUT' },
    },
  },
  ecr: {
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: {
      version: '0',
      id: 'evt-1',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '1',
      time: '2024-05-01T10:00:00Z',
      region: 'eu-west-1',
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': 'team/app',
        'action-type': 'PUSH',
        'image-digest': D,
        'image-tag': 'v1',
        'manifest-media-type': OCI,
      },
    },
  },
  gar: {
    headers: { 'content-type': 'application/json' },
    body: {
      message: {
        data: Buffer.from(
          JSON.stringify({ action: 'INSERT', digest: `h/p/r/img@${D}`, tag: 'h/p/r/img:1.1' }),
        ).toString('base64'),
        attributes: {},
        messageId: '207',
        publishTime: '2024-05-01T10:00:00.123Z',
      },
      subscription: 'projects/p/subscriptions/s',
    },
  },
  artifactory: {
    headers: { 'content-type': 'application/json' },
    body: {
      domain: 'docker',
      event_type: 'pushed',
      data: {
        repo_key: 'docker-local',
        path: 'team/app/v1/manifest.json',
        name: 'manifest.json',
        image_name: 'team/app',
        sha256: 'c'.repeat(64),
        tag: 'v1',
      },
      subscription_key: 'sub',
    },
  },
  gitea: {
    headers: { 'content-type': 'application/json', 'x-gitea-event': 'package', 'x-gitea-delivery': 'dlv-1' },
    body: {
      action: 'created',
      package: {
        id: 1,
        owner: { id: 2, login: 'Team' },
        repository: null,
        type: 'container',
        name: 'tools/app',
        version: 'v1',
        created_at: '2024-05-01T10:00:00Z',
      },
      sender: { id: 2, login: 'Team' },
    },
  },
};
