// The world of the suites that push documents to a real registry and read the answers back.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachArtifactToImage } from '@sigstore/oci';
import type { RefgraphConfigInput } from '#config';
import {
  artifactManifest,
  createTestDatabase,
  descriptorOf,
  pushImage,
  startMockSigstore,
  startRegistry,
  type MockSigstore,
  type OidcIdentity,
  type PushableContent,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  apiTokens,
  localDistribution,
  startRecordingForwarder,
  startRefgraph,
  type ApiToken,
  type StartedRefgraph,
} from './harness.js';

const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export interface Answer {
  status: number;
  body: Record<string, any>;
}

/**
 * Debian's docker-registry notifying refgraph (api and worker in-process, on its own database),
 * the mock Sigstore as the only trusted root, and the ways documents reach the registry.
 */
export interface RegistryWorld {
  registry: TestRegistry;
  mock: MockSigstore;
  refgraph: StartedRefgraph;
  /** A REST read with a token's secret (the first configured token unless told). */
  get(path: string, token?: string): Promise<Answer>;
  /** A GraphQL query, with the same default token; data and errors as answered. */
  gql(query: string, token?: string): Promise<{ data?: any; errors?: unknown[] }>;
  /** A REST read that must answer 200; its body. */
  read(path: string): Promise<Record<string, any>>;
  /** A GraphQL query that must answer without errors; its data. */
  query(query: string): Promise<any>;
  /** Pushes `doc` as an OCI 1.1 referrer of `subject`, the artifact and its one layer typed `type`; its digest. */
  attach(repo: string, subject: PushableContent, type: string, doc: object): Promise<string>;
  /**
   * Signs an in-toto statement about `subject` keylessly as FLEET_SIGNER (mock Fulcio and Rekor)
   * and attaches the Sigstore bundle to it with @sigstore/oci.
   */
  attest(repo: string, subject: PushableContent, predicateType: string, predicate: object): Promise<void>;
  close(): Promise<void>;
}

/** The keyless signer the world trusts for `local/fleet/**` (authority `release`); attest() signs as it. */
export const FLEET_SIGNER: OidcIdentity = {
  issuer: 'https://token.actions.example.test',
  subject: 'https://example.test/acme/fleet/.github/workflows/release.yml@refs/heads/main',
};

export async function startRegistryWorld(opts: {
  tokens: ApiToken[];
  /** Repository → the image pushed to it, tagged `v1`, before the world is returned. */
  images: Record<string, PushableContent>;
  policies?: RefgraphConfigInput['policies'];
}): Promise<RegistryWorld> {
  const tdb: TestDatabase = await createTestDatabase();
  const mock = await startMockSigstore();
  const dir = await mkdtemp(join(tmpdir(), 'refgraph-world-'));
  const trustedRoot = join(dir, 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(mock.trustedRoot));
  let refgraphUrl = '';
  const forwarder = await startRecordingForwarder(() => refgraphUrl);
  const hookToken = 'world-hook-token';
  const registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${forwarder.port}/webhooks/local`,
    notifyToken: hookToken,
  });
  const refgraph = await startRefgraph(
    tdb.url,
    {
      server: { rateLimitPerMinute: 0 },
      registries: [localDistribution(registry.url)],
      trust: {
        trustedRoot,
        authorities: [{ name: 'release', keyless: FLEET_SIGNER }],
        repositories: [{ pattern: 'local/fleet/**', authorities: ['release'] }],
      },
      ...(opts.policies ? { policies: opts.policies } : {}),
      auth: { tokens: apiTokens(opts.tokens) },
    },
    { HOOK: hookToken },
  );
  refgraphUrl = refgraph.url;
  for (const [repo, image] of Object.entries(opts.images)) await pushImage(registry.url, repo, 'v1', image);
  const reader = opts.tokens[0]!.secret;
  const get = async (path: string, token = reader): Promise<Answer> => {
    const res = await fetch(`${refgraph.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const gql = async (query: string, token = reader) => {
    const res = await fetch(`${refgraph.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as { data?: any; errors?: unknown[] };
  };

  return {
    registry,
    mock,
    refgraph,
    get,
    gql,
    async read(path) {
      const { status, body } = await get(path);
      expect(status).toBe(200);
      return body;
    },
    async query(query) {
      const { data, errors } = await gql(query);
      expect(errors).toBeUndefined();
      return data;
    },
    async attach(repo, subject, type, doc) {
      const m = artifactManifest({
        subject: descriptorOf(subject),
        artifactType: type,
        layers: [{ mediaType: type, bytes: Buffer.from(JSON.stringify(doc)) }],
      });
      await pushImage(registry.url, repo, undefined, m);
      return m.digest;
    },
    async attest(repo, subject, predicateType, predicate) {
      const statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: `${registry.host}/${repo}`, digest: { sha256: subject.digest.slice(7) } }],
        predicateType,
        predicate,
      };
      await attachArtifactToImage({
        imageName: `${registry.host}/${repo}`,
        imageDigest: subject.digest,
        artifact: Buffer.from(JSON.stringify(await mock.attest(statement, FLEET_SIGNER))),
        mediaType: BUNDLE_TYPE,
        annotations: { 'dev.sigstore.bundle.predicateType': predicateType },
        credentials: undefined as never,
      });
    },
    async close() {
      await refgraph.running.close();
      await registry.stop();
      await forwarder.stop();
      await mock.close();
      await tdb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
