import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import {
  artifactManifest,
  createTestDatabase,
  descriptorOf,
  pushImage,
  randomImage,
  startRegistry,
  type TestDatabase,
  type TestRegistry,
} from '#testing';
import {
  eventually,
  localDistribution,
  readStatementsDuring,
  startRefgraph,
  type StartedRefgraph,
} from './harness.js';

const token = randomBytes(16).toString('hex');
const SBOM = 'application/spdx+json';
const NOTATION = 'application/vnd.cncf.notary.signature';
const PROVENANCE = 'application/vnd.in-toto+json';

let tdb: TestDatabase;
let registry: TestRegistry;
let refgraph: StartedRefgraph;
let refgraphPort = 0;

const image = randomImage();
const sbom = artifactManifest({
  subject: descriptorOf(image),
  artifactType: SBOM,
  layers: [{ mediaType: SBOM, bytes: Buffer.from('{"spdxVersion":"SPDX-2.3"}') }],
});
const signature = artifactManifest({
  subject: descriptorOf(image),
  artifactType: NOTATION,
  annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '["ab"]' },
});
const provenance = artifactManifest({ subject: descriptorOf(image), artifactType: PROVENANCE });
const provenanceSig = artifactManifest({ subject: descriptorOf(provenance), artifactType: NOTATION });

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${refgraph.url}${path}`, { headers });
  const text = await res.text();
  return {
    res,
    body: text ? (JSON.parse(text) as Record<string, unknown> & { [k: string]: any }) : undefined,
  };
}

async function post(path: string, body: unknown) {
  const res = await fetch(`${refgraph.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { res, body: (await res.json()) as Record<string, unknown> & { [k: string]: any } };
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  const { freePort } = await import('#store');
  refgraphPort = await freePort();
  registry = await startRegistry({
    notifyUrl: `http://127.0.0.1:${refgraphPort}/webhooks/local`,
    notifyToken: token,
  });
  refgraph = await startRefgraph(
    tdb.url,
    {
      server: { port: refgraphPort },
      registries: [localDistribution(registry.url)],
      policies: [
        { name: 'needs-provenance', attestations: [{ predicateType: 'https://slsa.dev/provenance/v1' }] },
        { name: 'production', sbom: true },
      ],
    },
    { HOOK: token },
  );
  await pushImage(registry.url, 'demo', 'v1', image);
  for (const m of [sbom, signature, provenance, provenanceSig])
    await pushImage(registry.url, 'demo', undefined, m);
  await eventually(async () => {
    const { body } = await get(`/api/v1/artifacts/${provenance.digest}/referrers`);
    expect(body).toMatchObject({ referrers: [expect.anything()] });
    const top = await get(`/api/v1/artifacts/${image.digest}/referrers`);
    expect(top.body?.referrers).toHaveLength(3);
  });
});

afterAll(async () => {
  await refgraph?.running.close();
  await registry?.stop();
  await tdb?.drop();
});

describe('REST API over a graph built from the real registry', () => {
  it('resolves a tag reference to its digest', async () => {
    const { res, body } = await get('/api/v1/resolve?reference=local/demo:v1');
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ registry: 'local', repository: 'demo', tag: 'v1', digest: image.digest });
    expect((await get('/api/v1/resolve?reference=local/demo:nope')).res.status).toBe(404);
    expect((await get('/api/v1/resolve?reference=no-slash')).res.status).toBe(400);
  });

  it('summarises an artifact with where it lives', async () => {
    const { body } = await get(`/api/v1/artifacts/${image.digest}`);
    expect(body).toMatchObject({
      digest: image.digest,
      kind: 'image',
      size: image.size,
      locations: [{ registry: 'local', repository: 'demo', tags: ['v1'] }],
      signatures: { total: expect.any(Number), verified: 0 },
      attestations: {},
    });
  });

  it('lists referrers direct and recursive, with filters, and agrees with the OCI referrers API', async () => {
    const direct = (await get(`/api/v1/artifacts/${image.digest}/referrers`)).body!;
    const digests = direct.referrers.map((r: { digest: string }) => r.digest).sort();
    expect(digests).toEqual([sbom.digest, signature.digest, provenance.digest].sort());
    expect(direct.referrers.every((r: { referrers: unknown[] }) => r.referrers.length === 0)).toBe(true);

    const oci = (await get(`/v2/local/demo/referrers/${image.digest}`)).body!;
    expect(oci.manifests.map((m: { digest: string }) => m.digest).sort()).toEqual(digests);

    const deep = (await get(`/api/v1/artifacts/${image.digest}/referrers?depth=2`)).body!;
    const prov = deep.referrers.find((r: { digest: string }) => r.digest === provenance.digest);
    expect(prov.referrers.map((r: { digest: string }) => r.digest)).toEqual([provenanceSig.digest]);
    expect(prov.referrers[0]).toMatchObject({
      kind: 'signature',
      artifactType: NOTATION,
      edgeKind: 'subject',
    });

    const sboms = (await get(`/api/v1/artifacts/${image.digest}/referrers?kind=sbom`)).body!;
    expect(sboms.referrers.map((r: { digest: string }) => r.digest)).toEqual([sbom.digest]);
    const sigs = (
      await get(`/api/v1/artifacts/${image.digest}/referrers?artifactType=${encodeURIComponent(NOTATION)}`)
    ).body!;
    expect(sigs.referrers.map((r: { digest: string }) => r.digest)).toEqual([signature.digest]);
  });

  it('pages referrers with a cursor', async () => {
    const seen: string[] = [];
    let after = '';
    for (let i = 0; i < 5; i++) {
      const { body } = await get(
        `/api/v1/artifacts/${image.digest}/referrers?first=1${after ? `&after=${after}` : ''}`,
      );
      seen.push(...body!.referrers.map((r: { digest: string }) => r.digest));
      if (!body!.nextCursor) break;
      after = body!.nextCursor as string;
    }
    expect(seen).toEqual([sbom.digest, signature.digest, provenance.digest].sort());
  });

  it('answers 304 to a matching If-None-Match and sends Cache-Control', async () => {
    const first = await get(`/api/v1/artifacts/${image.digest}`);
    const etag = first.res.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    expect(first.res.headers.get('cache-control')).toContain('max-age');
    expect(first.res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(first.body).toMatchObject({ digest: image.digest });
    const again = await get(`/api/v1/artifacts/${image.digest}`, { 'if-none-match': etag });
    expect(again.res.status).toBe(304);
  });

  it('rejects bad input with one error shape naming the field', async () => {
    const deep = await get(`/api/v1/artifacts/${image.digest}/referrers?depth=99`);
    expect(deep.res.status).toBe(400);
    expect(deep.body).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringMatching(/query\.depth/) },
    });
    const badDigest = await get('/api/v1/artifacts/sha256:abc');
    expect(badDigest.body?.error.message).toMatch(/path\.digest/);
    const unknown = await get(`/api/v1/artifacts/sha256:${'1'.repeat(64)}`);
    expect(unknown.res.status).toBe(404);
    expect(unknown.body?.error.code).toBe('not_found');
    const extra = await get(`/api/v1/artifacts/${image.digest}/referrers?bogus=1`);
    expect(extra.res.status).toBe(400);
  });

  it('answers bodies it cannot read in the same error shape, with the request id', async () => {
    const raw = (path: string, contentType: string, body: string) =>
      fetch(`${refgraph.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const cases = [
      ['/api/v1/verdict', 'application/json', '{"policy":', 400, 'malformed_json'],
      ['/api/v1/verdict', 'application/json', '', 400, 'malformed_json'],
      ['/api/v1/gatekeeper/needs-provenance', 'application/json', '{', 400, 'malformed_json'],
      ['/api/v1/verdict', 'application/xml', '<verdict/>', 415, 'unsupported_media_type'],
      ['/api/v1/verdict', 'application/json', `"${'x'.repeat(1024 * 1024)}"`, 413, 'payload_too_large'],
    ] as const;
    for (const [path, contentType, body, status, code] of cases) {
      const res = await raw(path, contentType, body);
      expect({ path, contentType, status: res.status, body: await res.json() }).toEqual({
        path,
        contentType,
        status,
        body: { error: { code, message: expect.any(String), requestId: expect.any(String) } },
      });
    }
  });

  it('gives a verdict from stored results and a Gatekeeper ProviderResponse', async () => {
    const PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
    let v = await post('/api/v1/verdict', { policy: 'needs-provenance', subjects: ['local/demo:v1'] });
    expect(v.res.status).toBe(200);
    expect(v.body).toMatchObject({
      policy: 'needs-provenance',
      allowed: false,
      subjects: [
        {
          reference: 'local/demo:v1',
          subject: image.digest,
          allowed: false,
          reasons: [`no ${PROVENANCE_V1} attestation found`],
        },
      ],
    });

    // A provenance statement parsed at ingest is what the verdict reads; stored here directly.
    const c = new pg.Client({ connectionString: tdb.url });
    await c.connect();
    await c.query(
      `INSERT INTO attestation (artifact_digest, subject_digest, predicate_type, builder_id) VALUES ($1, $2, $3, 'https://github.com/actions/runner')`,
      [provenance.digest, image.digest, PROVENANCE_V1],
    );
    await c.end();
    v = await post('/api/v1/verdict', { policy: 'needs-provenance', subjects: [image.digest] });
    expect(v.body).toMatchObject({ allowed: true, subjects: [{ allowed: true, reasons: [] }] });

    const gk = await post('/api/v1/gatekeeper/needs-provenance', {
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'ProviderRequest',
      request: { keys: [`${registry.host}/demo:v1`, 'not a reference'] },
    });
    expect(gk.res.status).toBe(200);
    expect(gk.body).toMatchObject({
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'ProviderResponse',
      response: {
        systemError: '',
        items: [
          { key: `${registry.host}/demo:v1`, value: { digest: image.digest, allowed: true } },
          { key: 'not a reference', error: expect.stringMatching(/expected/) },
        ],
      },
    });
    const unknownPolicy = await post('/api/v1/gatekeeper/nope', {
      apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
      kind: 'ProviderRequest',
      request: { keys: [] },
    });
    expect(unknownPolicy.body.response.systemError).toMatch(/no policy named "nope"/);
    expect((await post('/api/v1/verdict', { policy: 'nope', subjects: [image.digest] })).res.status).toBe(
      404,
    );
  });

  it('answers a Gatekeeper batch of 100 keys in key order with a fixed number of SQL statements', async () => {
    const kinds = [
      `${registry.host}/demo:v1`,
      `${registry.host}/demo@${image.digest}`,
      `${registry.host}/demo:no-such-tag`,
      'elsewhere.example/demo:v1',
    ];
    const keys = Array.from({ length: 100 }, (_, i) => kinds[i % kinds.length]!);
    const { statements: sent, result: gk } = await readStatementsDuring(refgraph, () =>
      post('/api/v1/gatekeeper/needs-provenance', {
        apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
        kind: 'ProviderRequest',
        request: { keys },
      }),
    );
    const statements = sent.length;
    const items = gk.body.response.items as Array<{
      key: string;
      value?: { digest: string };
      error?: string;
    }>;
    expect(items.map((i) => i.key)).toEqual(keys);
    items.forEach((item, i) => {
      if (i % 4 < 2) expect(item.value).toMatchObject({ digest: image.digest, allowed: true });
      else
        expect(item.error).toMatch(
          i % 4 === 2 ? /is not known/ : /no configured registry serves elsewhere.example/,
        );
    });
    // One tag lookup for all keys, then the policy's reads; one statement per key would be 100+.
    expect(statements).toBeGreaterThanOrEqual(2);
    expect(statements).toBeLessThanOrEqual(6);
  });

  it('documents every route in OpenAPI and serves the docs UI locally', async () => {
    const { body } = await get('/openapi.json');
    expect(Object.keys(body!.paths)).toEqual(
      expect.arrayContaining(['/api/v1/resolve', '/api/v1/verdict', '/api/v1/gatekeeper/{policy}']),
    );
    expect(
      body!.paths['/api/v1/artifacts/{digest}/referrers'].get.parameters.map((p: { name: string }) => p.name),
    ).toEqual(expect.arrayContaining(['digest', 'depth', 'kind', 'artifactType', 'first', 'after']));
    // Every REST route the server registered is in the document, with its path parameters.
    const rest = refgraph.running.routes.filter(
      (r) => r.url.startsWith('/api/v1/') && (r.method === 'GET' || r.method === 'POST'),
    );
    expect(rest.length).toBeGreaterThan(10);
    for (const r of rest) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      const op = body!.paths[path]?.[r.method.toLowerCase()];
      expect([r.method, path, op !== undefined]).toEqual([r.method, path, true]);
      const named = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const documented = op.parameters
        .filter((p: { in: string }) => p.in === 'path')
        .map((p: { name: string }) => p.name);
      expect([path, documented]).toEqual([path, named]);
    }
    // Markdown in the docs UI would swallow <angle brackets> as HTML.
    expect(body!.info.description).not.toMatch(/<[a-z-]+>/);
    const docs = await fetch(`${refgraph.url}/docs`);
    expect(await docs.text()).toContain('/docs/assets/swagger-ui-bundle.js');
    const asset = await fetch(`${refgraph.url}/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).toBe(200);
    expect((await asset.text()).length).toBeGreaterThan(100_000);
  });
});

describe('policy engine examples in examples/ talk to the real endpoints', () => {
  it('Gatekeeper: the Provider URL answers a ProviderRequest with the fields the Rego reads', async () => {
    const provider = parseYaml(readFileSync('examples/gatekeeper/provider.yaml', 'utf8')) as {
      apiVersion: string;
      spec: { url: string };
    };
    const path = new URL(provider.spec.url).pathname;
    const rego = (
      parseAllDocuments(readFileSync('examples/gatekeeper/constraint-template.yaml', 'utf8'))[0]!.toJS() as {
        spec: { targets: Array<{ rego: string }> };
      }
    ).spec.targets[0]!.rego;
    const { body } = await post(path, {
      apiVersion: provider.apiVersion,
      kind: 'ProviderRequest',
      request: { keys: [`${registry.host}/demo@${image.digest}`] },
    });
    expect(body.kind).toBe('ProviderResponse');
    const value = body.response.items[0].value as Record<string, unknown>;
    for (const field of [...rego.matchAll(/item\[1\]\.(\w+)/g)].map((m) => m[1]!))
      expect(value).toHaveProperty(field);
    // Fails closed: system errors, per-key errors and missing answers are violations, and only
    // `allowed == true` passes.
    expect(rego).toContain('response.system_error');
    expect(rego).toContain('response.errors[_]');
    expect(rego).toContain('missing := images - answered');
    expect(rego).toContain('not item[1].allowed == true');
    // An image refgraph cannot vouch for: a per-key error and a denying value, never a pass.
    const unknown = await post(path, {
      apiVersion: provider.apiVersion,
      kind: 'ProviderRequest',
      request: {
        keys: [
          `${registry.host}/demo:never-pushed`,
          'nowhere.example/app:v1',
          `${registry.host}/demo@sha256:${'e'.repeat(64)}`,
          // No host: Docker Hub's `local` account, never refgraph's registry named `local`.
          `local/demo@${image.digest}`,
        ],
      },
    });
    expect(unknown.res.status).toBe(200);
    for (const item of unknown.body.response.items) {
      expect(item.error).toEqual(expect.any(String));
      expect(item.value.allowed).toBe(false);
    }
    expect(unknown.body.response.items.map((i: any) => i.value.codes)).toEqual([
      ['unknown_tag'],
      ['unknown_registry'],
      ['unknown_digest'],
      ['unknown_registry'],
    ]);
  });

  it('Kyverno: the apiCall body and the deny condition match the verdict endpoint', async () => {
    const policy: any = parseYaml(readFileSync('examples/kyverno/refgraph-verdict.yaml', 'utf8'));
    const each = policy.spec.rules[0].validate.foreach[0];
    const call = each.context[0].apiCall;
    const data = Object.fromEntries(call.data.map((d: { key: string; value: unknown }) => [d.key, d.value]));
    expect(data.references).toBe('image');
    data.subjects = (data.subjects as string[]).map(() => `${registry.host}/demo@${image.digest}`);
    const { res, body } = await post(new URL(call.service.url).pathname, data);
    expect(res.status).toBe(200);
    const condition = each.deny.conditions.any[0];
    // Fails closed: a missing or null `allowed` reads as false, and anything but true denies; a
    // failed apiCall is a rule error that failurePolicy Fail turns into a denial.
    expect(condition).toEqual({
      key: '{{ verdict.allowed || `false` }}',
      operator: 'NotEquals',
      value: true,
    });
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(typeof body.allowed).toBe('boolean');
    expect(body.subjects[0].subject).toBe(image.digest);
    data.subjects = [`${registry.host}/demo:never-pushed`];
    const unknown = await post(new URL(call.service.url).pathname, data);
    expect(unknown.res.status).toBe(200);
    expect(unknown.body.allowed).toBe(false);
  });

  it('OPA: the http.send request in the Rego is accepted and its answer has the fields read', async () => {
    const rego = readFileSync('examples/opa/refgraph.rego', 'utf8');
    const path = /"\/api\/v1\/[a-z]+"/.exec(rego)![0].slice(1, -1);
    const policy = /"policy": "([^"]+)"/.exec(rego)![1];
    const references = /"references": "([^"]+)"/.exec(rego)![1];
    expect(references).toBe('image');
    const { res, body } = await post(path, {
      policy,
      references,
      subjects: [`${registry.host}/demo@${image.digest}`],
    });
    expect(body.subjects[0].subject).toBe(image.digest);
    expect(res.status).toBe(200);
    for (const field of ['allowed', 'reasons']) expect(body.subjects[0]).toHaveProperty(field);
    // Fails closed: a non-200 answer denies, and so does any image whose answer is not allowed.
    expect(rego).toContain('response.status_code != 200');
    expect(rego).toContain('not response.body.subjects[i].allowed == true');
    const unknown = await post(path, {
      policy,
      references,
      subjects: [
        `${registry.host}/demo@${image.digest}`,
        `${registry.host}/demo:never-pushed`,
        `local/demo@${image.digest}`,
      ],
    });
    expect(unknown.res.status).toBe(200);
    expect(unknown.body.subjects.map((x: any) => [x.allowed, x.codes[0]])).toEqual([
      [body.subjects[0].allowed, body.subjects[0].codes[0]],
      [false, 'unknown_tag'],
      // A pod image without a host is Docker Hub's, never refgraph's registry named `local`.
      [false, 'unknown_registry'],
    ]);
  });
});
