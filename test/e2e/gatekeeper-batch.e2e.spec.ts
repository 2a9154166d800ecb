import { randomBytes } from 'node:crypto';
import type { SignatureRecord } from '#store';
import { imageManifest, referrerManifest, type BuiltManifest } from '#testing';
import {
  postJson,
  readStatementsDuring,
  startTeamWorld,
  type StartedRefgraph,
  type TeamWorld,
} from './harness.js';

/**
 * A Gatekeeper batch sits in an admission path: its keys name images in many repositories, and
 * its SQL statements must not grow with the keys or the repositories they name, while each key
 * keeps the answer it gets alone.
 */
const READER = randomBytes(16).toString('hex');
const SLSA = 'https://slsa.dev/provenance/v1';
const TRUSTED_BUILDER = 'https://ci.example/trusted-builder';
const HOST = '127.0.0.1:9';
const REPOSITORIES = 10;

interface Repo {
  name: string;
  id: number;
  image: BuiltManifest;
}

let world: TeamWorld;
let refgraph: StartedRefgraph;
const repos: Repo[] = [];
let hidden: BuiltManifest;

const post = (path: string, body: unknown) => postJson(refgraph.url, READER, path, body);

interface Item {
  key: string;
  value: { digest: string | null; allowed: boolean; reasons: string[]; codes: string[] };
  error?: string;
}

const gatekeeper = async (keys: string[]): Promise<Item[]> => {
  const { status, body } = await post('/api/v1/gatekeeper/admission', {
    apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
    kind: 'ProviderRequest',
    request: { keys },
  });
  expect([status, body.response.systemError]).toEqual([200, '']);
  return body.response.items as Item[];
};

function verification(
  repo: Repo,
  artifact: BuiltManifest,
  extra: Partial<SignatureRecord> = {},
): SignatureRecord {
  return {
    artifactDigest: artifact.digest,
    layerDigest: '',
    subjectDigest: repo.image.digest,
    repositoryId: repo.id,
    kind: 'signature',
    format: 'sigstore-bundle',
    status: 'verified',
    reason: 'verified',
    message: null,
    identity: 'https://ci.example/a',
    issuer: 'https://issuer.example',
    authority: 'ci',
    policyVersion: refgraph.running.runtime.trustVersion,
    ...extra,
  };
}

/**
 * Repository i of team-a holds one image tagged v1: every third is signed, attested by the
 * trusted builder (in a verified envelope) and has an SBOM (allowed); the next is unsigned with
 * nothing; the next has a failed signature and a statement from another builder.
 */
async function populate(repo: Repo, i: number) {
  const { trust } = world;
  await world.push(repo.id, repo.image, 'v1');
  if (i % 3 === 1) return;
  const sig = referrerManifest(repo.image.descriptor, 'application/vnd.example.sig', {});
  const att = referrerManifest(repo.image.descriptor, 'application/vnd.in-toto+json', {});
  for (const m of [sig, att]) await world.push(repo.id, m);
  const allowed = i % 3 === 0;
  await trust.upsertSignatures([
    verification(repo, sig, allowed ? {} : { status: 'failed', reason: 'key_mismatch', authority: null }),
    verification(repo, att, { kind: 'attestation' }),
  ]);
  await trust.upsertAttestations([
    {
      artifactDigest: att.digest,
      layerDigest: '',
      subjectDigest: repo.image.digest,
      predicateType: SLSA,
      statement: {},
      builderId: allowed ? TRUSTED_BUILDER : 'https://elsewhere.example/builder',
    },
  ]);
  if (!allowed) return;
  const sbom = referrerManifest(repo.image.descriptor, 'application/spdx+json', {});
  await world.push(repo.id, sbom);
  await trust.upsertSbom({
    artifactDigest: sbom.digest,
    layerDigest: '',
    subjectDigest: repo.image.digest,
    format: 'spdx',
    specVersion: 'SPDX-2.3',
    name: 'app',
    parseError: null,
    packages: [],
  });
}

beforeAll(async () => {
  world = await startTeamWorld({
    tokens: [{ name: 'team-a', secret: READER, scopes: ['read:local/team-a/**'] }],
    trust: {
      authorities: [
        { name: 'ci', keyless: { issuer: 'https://issuer.example', subject: 'https://ci.example/a' } },
      ],
    },
    policies: [
      {
        name: 'admission',
        signatures: { authorities: ['ci'] },
        attestations: [{ predicateType: SLSA, builderIds: [TRUSTED_BUILDER] }],
        sbom: true,
      },
    ],
  });
  refgraph = world.refgraph;
  for (let i = 0; i < REPOSITORIES; i++) {
    const name = `team-a/svc-${i}`;
    repos.push({ name, id: await world.repository(name), image: imageManifest() });
    await populate(repos[i]!, i);
  }
  hidden = imageManifest();
  await world.push('b', hidden, 'v1');
}, 120_000);

afterAll(async () => {
  await world?.close();
});

/** Key `i` of a batch: every kind of key, over every repository. */
function key(i: number): string {
  const repo = repos[i % REPOSITORIES]!;
  const other = repos[(i + 1) % REPOSITORIES]!;
  switch (i % 7) {
    case 0:
      return `${HOST}/${repo.name}:v1`;
    case 1:
      return `${HOST}/${repo.name}@${repo.image.digest}`;
    case 2:
      return `${HOST}/${repo.name}:no-such-tag`;
    case 3:
      return 'elsewhere.example/team-a/svc-0:v1';
    case 4:
      return `${HOST}/team-b/app@${hidden.digest}`;
    case 5:
      // A digest stored, but in another repository than the key names.
      return `${HOST}/${repo.name}@${other.image.digest}`;
    default:
      return i % 2 ? `${HOST}/${repo.name}:v1` : 'Not An Image!';
  }
}

describe('a Gatekeeper batch over many repositories', () => {
  it('issues the same statements for 50 keys as for 5, each key answered as it is alone', async () => {
    // The 5 keys need every read: a tag, a digest, evidence with attestations, refusals.
    const five = [key(0), key(1), key(2), key(3), key(4)];
    const fifty = Array.from({ length: 50 }, (_, i) => key(i));
    const small = await readStatementsDuring(refgraph, () => gatekeeper(five));
    const large = await readStatementsDuring(refgraph, () => gatekeeper(fifty));
    // Tags, presence, then signatures, attestations, SBOMs and the attestations' signatures.
    expect(small.statements.length).toBeLessThanOrEqual(6);
    expect([...large.statements].sort()).toEqual([...small.statements].sort());

    const items = large.result;
    expect(items.map((i) => i.key)).toEqual(fifty);
    const alone = await Promise.all(fifty.map(async (k) => (await gatekeeper([k]))[0]));
    items.forEach((item, i) => expect([i, item]).toEqual([i, alone[i]]));

    // The batch holds every kind it claims to.
    const codes = new Set(items.flatMap((i) => i.value.codes));
    for (const code of [
      'unknown_tag',
      'unknown_registry',
      'not_in_scope',
      'unknown_digest',
      'invalid_reference',
      'no_signature',
      'signature_not_trusted',
      'attestation_not_satisfied',
      'no_sbom',
    ])
      expect([code, codes.has(code)]).toEqual([code, true]);
    const allowed = items.filter((i) => i.value.allowed).map((i) => i.value.digest);
    expect(new Set(allowed)).toEqual(new Set(repos.filter((_, r) => r % 3 === 0).map((r) => r.image.digest)));
    expect(items.filter((i) => i.value.digest === null).every((i) => i.error && !i.value.allowed)).toBe(true);
  });

  it('a verdict mixing digests (read in scope) and references (read in their repository) is batched too', async () => {
    const subjects = [
      repos[0]!.image.digest,
      `local/${repos[0]!.name}:v1`,
      repos[1]!.image.digest,
      `local/${repos[2]!.name}@${repos[2]!.image.digest}`,
      `local/${repos[3]!.name}:v1`,
      hidden.digest,
    ];
    const { statements, result } = await readStatementsDuring(refgraph, () =>
      post('/api/v1/verdict', { policy: 'admission', subjects }),
    );
    expect(statements.length).toBeLessThanOrEqual(6);
    expect(result.status).toBe(200);
    const alone = await Promise.all(
      subjects.map(async (s) => (await post('/api/v1/verdict', { policy: 'admission', subjects: [s] })).body),
    );
    (result.body.subjects as unknown[]).forEach((v, i) => expect([i, v]).toEqual([i, alone[i]!.subjects[0]]));
    expect(result.body.subjects.map((s: { allowed: boolean }) => s.allowed)).toEqual([
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
  });
});
