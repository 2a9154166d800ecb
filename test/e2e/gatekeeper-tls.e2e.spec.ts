import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { createTestDatabase, type TestDatabase } from '#testing';
import { startRefgraph, type StartedRefgraph } from './harness.js';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=refgraph test CA',
  );
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    run(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
      '-subj',
      `/CN=${who}`,
    );
    run(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${who}.pem`,
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
    );
  }
  const read = (f: string) => readFileSync(join(dir, f));
  return { ca: read('ca.pem'), clientCert: read('client.pem'), clientKey: read('client.key') };
}

let dir: string;
let tdb: TestDatabase;
let refgraph: StartedRefgraph;
let pki: ReturnType<typeof makePki>;

const providerRequest = {
  apiVersion: 'externaldata.gatekeeper.sh/v1beta1',
  kind: 'ProviderRequest',
  request: { keys: [`local/app@sha256:${'a'.repeat(64)}`, 'local/app:missing'] },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'refgraph-tls-'));
  pki = makePki(dir);
  tdb = await createTestDatabase();
  refgraph = await startRefgraph(tdb.url, {
    server: {
      tls: {
        certFile: join(dir, 'server.pem'),
        keyFile: join(dir, 'server.key'),
        clientCaFile: join(dir, 'ca.pem'),
      },
    },
    registries: [
      { name: 'local', kind: 'distribution', url: 'http://127.0.0.1:9', webhook: { auth: { type: 'none' } } },
    ],
    policies: [{ name: 'signed-and-sbom', sbom: true }],
  });
});

afterAll(async () => {
  await refgraph?.running.close();
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

it('answers a Gatekeeper ProviderRequest over mutual TLS', async () => {
  expect(refgraph.url).toMatch(/^https:/);
  const agent = new Agent({ connect: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
  const res = await undiciFetch(`${refgraph.url}/api/v1/gatekeeper/signed-and-sbom`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(providerRequest),
    dispatcher: agent,
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    kind: string;
    response: { items: Array<{ key: string; value?: { allowed: boolean }; error?: string }> };
  };
  expect(body.kind).toBe('ProviderResponse');
  expect(body.response.items[0]).toMatchObject({
    key: providerRequest.request.keys[0],
    value: { allowed: false },
  });
  // The registry behind "local" is down: that key alone fails, with its own error.
  expect(body.response.items[1]).toMatchObject({ key: 'local/app:missing', error: expect.any(String) });
  await agent.close();
});

it('refuses a client without a certificate from the configured CA', async () => {
  const agent = new Agent({ connect: { ca: pki.ca } });
  await expect(
    undiciFetch(`${refgraph.url}/healthz`, { dispatcher: agent }).then((r) => r.status),
  ).rejects.toThrow();
  await agent.close();
});
