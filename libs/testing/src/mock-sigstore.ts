import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { fulcioHandler, initializeCA, initializeTLog, rekorHandler, type HandlerFn } from '@sigstore/mock';
import {
  DSSEBundleBuilder,
  FulcioSigner,
  MessageSignatureBundleBuilder,
  RekorWitness,
  type Signer,
} from '@sigstore/sign';

/**
 * Test-only: a Fulcio CA (with CT log) and a Rekor log from @sigstore/mock, served over HTTP on
 * loopback, real signing through @sigstore/sign, and the trusted root naming exactly their keys.
 * Nothing here is used at run time.
 */
export interface MockSigstore {
  readonly baseURL: string;
  /** `trusted_root.json` content for the mock's CA, CT log and transparency log. */
  readonly trustedRoot: Record<string, unknown>;
  /** Keyless message signature over `data`, for the OIDC subject and issuer given. */
  signMessage(data: Buffer, who: OidcIdentity): Promise<SerializedBundle>;
  /** Keyless DSSE bundle over an in-toto statement (logged as an `intoto` entry). */
  attest(statement: object, who: OidcIdentity): Promise<SerializedBundle>;
  /** Message signature with a local key (no certificate), logged as hashedrekord. */
  signMessageWithKey(
    data: Buffer,
    key: { privateKey: KeyObject; publicKey: KeyObject },
  ): Promise<SerializedBundle>;
  close(): Promise<void>;
}

export interface OidcIdentity {
  /** Becomes the certificate SAN. An address containing "@" is sent as a verified email claim. */
  subject: string;
  issuer: string;
}

type CTLog = NonNullable<Parameters<typeof initializeCA>[1]>;

const FULCIO_PATH = '/api/v2/signingCert';
const REKOR_PATH = '/api/v1/log/entries';

export async function startMockSigstore(): Promise<MockSigstore> {
  const routes = new Map<string, HandlerFn>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const handler = req.method === 'POST' ? routes.get(req.url ?? '') : undefined;
      if (!handler) {
        res.writeHead(404).end();
        return;
      }
      handler(Buffer.concat(chunks).toString('utf8')).then(
        ({ statusCode, response, contentType }) => {
          res.writeHead(statusCode, { 'content-type': contentType ?? 'text/plain' }).end(response);
        },
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const logKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ctlog = ctLog(generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const ca = await initializeCA(caKeys, ctlog);
  const tlog = await initializeTLog(baseURL, logKeys);
  routes.set(FULCIO_PATH, fulcioHandler(ca).fn);
  routes.set(REKOR_PATH, rekorHandler(tlog).fn);

  const root = ca.rootCertificate;
  const rootDer = Buffer.from(root.buffer, root.byteOffset, root.byteLength);
  const trustedRoot = buildTrustedRoot(baseURL, rootDer, ctlog.publicKey, tlog.publicKey);
  const fulcio = (who: OidcIdentity): Signer =>
    new FulcioSigner({
      fulcioBaseURL: baseURL,
      identityProvider: { getToken: () => Promise.resolve(token(who)) },
    });
  const rekor = (entryType?: 'dsse' | 'intoto'): RekorWitness =>
    new RekorWitness({ rekorBaseURL: baseURL, entryType, fetchOnConflict: false });

  return {
    baseURL,
    trustedRoot,
    async signMessage(data, who) {
      const builder = new MessageSignatureBundleBuilder({ signer: fulcio(who), witnesses: [rekor()] });
      return bundleToJSON(await builder.create({ data }));
    },
    async attest(statement, who) {
      // The mock log only understands intoto entries for DSSE.
      const builder = new DSSEBundleBuilder({ signer: fulcio(who), witnesses: [rekor('intoto')] });
      const data = Buffer.from(JSON.stringify(statement));
      return bundleToJSON(await builder.create({ data, type: 'application/vnd.in-toto+json' }));
    },
    async signMessageWithKey(data, key) {
      const publicKey = key.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const signer: Signer = {
        sign: (payload) =>
          Promise.resolve({
            signature: cryptoSign('sha256', payload, key.privateKey),
            key: { $case: 'publicKey', publicKey, hint: keyHint(key.publicKey) },
          }),
      };
      const builder = new MessageSignatureBundleBuilder({ signer, witnesses: [rekor()] });
      return bundleToJSON(await builder.create({ data }));
    },
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

/**
 * RFC 6962 CT log issuing SCTs over the precertificate TBS. Replaces the mock's own CT log, whose
 * SCTs lose their signature when serialized with the installed pkijs. The mock CA writes the SCT
 * list as [0x00, length] + bytes returned here, so each SCT is returned with its uint16 length.
 */
function ctLog(keys: { privateKey: KeyObject; publicKey: KeyObject }): CTLog {
  const publicKey = keys.publicKey.export({ format: 'der', type: 'spki' });
  const logID = createHash('sha256').update(publicKey).digest();
  return {
    publicKey,
    logID,
    log: (preCert, issuerID) => {
      const tbs = X509Certificate.parse(Buffer.from(preCert)).tbsCertificate.toDER();
      const timestamp = Buffer.alloc(8);
      timestamp.writeBigUInt64BE(BigInt(Date.now()));
      const tbsLength = Buffer.alloc(3);
      tbsLength.writeUIntBE(tbs.length, 0, 3);
      const signed = Buffer.concat([
        Buffer.from([0, 0]), // v1, certificate_timestamp
        timestamp,
        Buffer.from([0, 1]), // precert_entry
        Buffer.from(issuerID),
        tbsLength,
        tbs,
        Buffer.from([0, 0]), // no extensions
      ]);
      const sig = cryptoSign('sha256', signed, keys.privateKey);
      const sigLength = Buffer.alloc(2);
      sigLength.writeUInt16BE(sig.length);
      const sct = Buffer.concat([
        Buffer.from([0]),
        logID,
        timestamp,
        Buffer.from([0, 0, 4, 3]),
        sigLength,
        sig,
      ]);
      const framed = Buffer.concat([Buffer.from([sct.length >> 8, sct.length & 0xff]), sct]);
      return Promise.resolve(framed.buffer.slice(framed.byteOffset, framed.byteOffset + framed.length));
    },
  };
}

/** Unsigned JWT: the mock Fulcio decodes claims without checking a signature. */
function token({ subject, issuer }: OidcIdentity): string {
  const claims: Record<string, unknown> = {
    iss: issuer,
    sub: subject,
    aud: 'sigstore',
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 600,
  };
  if (subject.includes('@')) Object.assign(claims, { email: subject, email_verified: true });
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

export function keyHint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('base64');
}

function buildTrustedRoot(
  baseURL: string,
  caRoot: Buffer,
  ctKey: Buffer,
  logKey: Buffer,
): Record<string, unknown> {
  const validFor = { start: new Date(Date.now() - 3_600_000).toISOString() };
  const b64 = (b: Buffer): string => b.toString('base64');
  const keyId = (spki: Buffer): string => b64(createHash('sha256').update(spki).digest());
  const log = (spki: Buffer) => ({
    baseUrl: baseURL,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: b64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
    logId: { keyId: keyId(spki) },
  });
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [log(logKey)],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: baseURL,
        certChain: { certificates: [{ rawBytes: b64(caRoot) }] },
        validFor,
      },
    ],
    ctlogs: [log(ctKey)],
    timestampAuthorities: [],
  };
}
