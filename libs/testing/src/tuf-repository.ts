import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { json as canonicalJson } from '@sigstore/core';

/**
 * Test-only: a TUF repository (root, targets, snapshot, timestamp; ed25519 keys from node:crypto,
 * signatures over canonical JSON) whose only target is `trusted_root.json`, served by a static
 * file server on loopback. The server is a stand-in for a CDN only: it serves bytes; every check
 * is made by the real TUF client under test.
 */
export interface TufRepository {
  /** The mirror URL to configure. */
  readonly url: string;
  /** root.json version 1: the client's initial root of trust (`trust.tuf.rootFile`). */
  readonly initialRoot: Buffer;
  /** Publishes a new timestamp, snapshot and targets naming this trusted root. */
  publish(trustedRoot: unknown, options?: { timestampExpires?: Date }): void;
  /**
   * Root version n+1 with a fresh root key, signed by it and by the current root key (unless
   * `unsignedByPrevious`: a root no client may accept).
   */
  rotateRootKey(options?: { unsignedByPrevious?: boolean }): void;
  /** Requests served, by path: what a client fetched. */
  readonly requests: string[];
  /** Answers every request with 503 (down) or serves again. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

interface Key {
  id: string;
  privateKey: KeyObject;
  meta: { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } };
}

function newKey(): Key {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // Raw 32-byte public key: the last bytes of the SPKI DER.
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const meta = {
    keytype: 'ed25519' as const,
    scheme: 'ed25519' as const,
    keyval: { public: raw.toString('hex') },
  };
  const id = createHash('sha256').update(canonicalJson.canonicalize(meta)).digest('hex');
  return { id, privateKey, meta };
}

function signed(body: object, keys: Key[]): Buffer {
  const data = Buffer.from(canonicalJson.canonicalize(body));
  const signatures = keys.map((k) => ({ keyid: k.id, sig: sign(null, data, k.privateKey).toString('hex') }));
  return Buffer.from(JSON.stringify({ signed: body, signatures }));
}

const inDays = (days: number) =>
  new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function startTufRepository(trustedRoot: unknown): Promise<TufRepository> {
  const files = new Map<string, Buffer>();
  const requests: string[] = [];
  let down = false;
  let rootKey = newKey();
  const roleKey = newKey(); // targets, snapshot and timestamp share one key; only the root key rotates
  let rootVersion = 0;
  let version = 0;

  const rootBody = (keys: Key[]) => ({
    _type: 'root',
    spec_version: '1.0.31',
    version: rootVersion,
    expires: inDays(365),
    consistent_snapshot: false,
    keys: Object.fromEntries([...keys, roleKey].map((k) => [k.id, k.meta])),
    roles: {
      root: { keyids: [rootKey.id], threshold: 1 },
      targets: { keyids: [roleKey.id], threshold: 1 },
      snapshot: { keyids: [roleKey.id], threshold: 1 },
      timestamp: { keyids: [roleKey.id], threshold: 1 },
    },
  });

  rootVersion = 1;
  const initialRoot = signed(rootBody([rootKey]), [rootKey]);
  files.set('/1.root.json', initialRoot);
  files.set('/root.json', initialRoot);

  const repository: TufRepository = {
    url: '',
    initialRoot,
    requests,
    publish(root, options = {}) {
      version++;
      const target = Buffer.from(JSON.stringify(root));
      files.set('/targets/trusted_root.json', target);
      const targets = signed(
        {
          _type: 'targets',
          spec_version: '1.0.31',
          version,
          expires: inDays(30),
          targets: { 'trusted_root.json': { length: target.length, hashes: { sha256: sha256(target) } } },
        },
        [roleKey],
      );
      files.set('/targets.json', targets);
      const snapshot = signed(
        {
          _type: 'snapshot',
          spec_version: '1.0.31',
          version,
          expires: inDays(7),
          meta: { 'targets.json': { version } },
        },
        [roleKey],
      );
      files.set('/snapshot.json', snapshot);
      const expires = options.timestampExpires
        ? options.timestampExpires.toISOString().replace(/\.\d{3}Z$/, 'Z')
        : inDays(1);
      files.set(
        '/timestamp.json',
        signed(
          {
            _type: 'timestamp',
            spec_version: '1.0.31',
            version,
            expires,
            meta: {
              'snapshot.json': { version, length: snapshot.length, hashes: { sha256: sha256(snapshot) } },
            },
          },
          [roleKey],
        ),
      );
    },
    rotateRootKey(options = {}) {
      const previous = rootKey;
      rootKey = newKey();
      rootVersion++;
      // Trusted by a client on the previous root: signed by a threshold of the old root keys and of its own.
      const next = signed(rootBody([rootKey]), options.unsignedByPrevious ? [rootKey] : [previous, rootKey]);
      files.set(`/${rootVersion}.root.json`, next);
      files.set('/root.json', next);
    },
    setDown(value) {
      down = value;
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const body = down ? undefined : files.get(path);
    if (down) res.writeHead(503).end();
    else if (!body) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  repository.publish(trustedRoot);
  return { ...repository, url };
}
