// Test-only helpers (excluded from the build by the *.test.ts pattern): a throwaway PKI made with
// the openssl CLI and notation JWS envelopes signed with node:crypto.
import { execFileSync } from 'node:child_process';
import { constants, createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestCertificate {
  pem: string;
  der: Buffer;
  key: KeyObject;
}

export interface TestPki {
  root: TestCertificate;
  leaf: TestCertificate;
  /** A P-256 signing certificate under the same root. */
  ecLeaf: TestCertificate;
  /** A signing certificate valid for one day only. */
  shortLeaf: TestCertificate;
  /** A root that is not in the trust store, and a signing certificate under it. */
  otherRoot: TestCertificate;
  otherLeaf: TestCertificate;
}

export const LEAF_SUBJECT = '/C=US/ST=WA/L=Seattle/O=Acme Rockets/CN=signer';

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
const LEAF_EXT = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature',
  'extendedKeyUsage=codeSigning',
];

export function createTestPki(): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), 'notation-pki-'));
  try {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const key = (name: string, spec: string[]) => openssl('genpkey', ...spec, '-out', `${name}.key`);
    const rsa = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
    const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    const load = (name: string): TestCertificate => {
      const pem = readFileSync(path.join(dir, `${name}.crt`), 'utf8');
      const privateKey = createPrivateKey(readFileSync(path.join(dir, `${name}.key`)));
      return { pem, der: Buffer.from(new X509Certificate(pem).raw), key: privateKey };
    };
    const selfSigned = (name: string, subject: string) => {
      key(name, rsa);
      const ext = CA_EXT.flatMap((e) => ['-addext', e]);
      openssl(
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        subject,
        '-days',
        '3650',
        '-out',
        `${name}.crt`,
        ...ext,
      );
      return load(name);
    };
    const issued = (name: string, issuer: string, subject: string, spec: string[], days: string) => {
      key(name, spec);
      openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
      writeFileSync(path.join(dir, `${name}.ext`), LEAF_EXT.join('\n'));
      openssl(
        'x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`,
        '-set_serial', String(Date.now()), '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.crt`,
      ); // prettier-ignore
      return load(name);
    };
    const root = selfSigned('root', '/C=US/ST=WA/O=Acme Rockets/CN=Acme Test Root');
    const otherRoot = selfSigned('other', '/C=US/ST=WA/O=Someone Else/CN=Other Root');
    return {
      root,
      otherRoot,
      leaf: issued('leaf', 'root', LEAF_SUBJECT, rsa, '365'),
      ecLeaf: issued('ec', 'root', '/C=US/ST=WA/O=Acme Rockets/CN=ec signer', ec, '365'),
      shortLeaf: issued('short', 'root', LEAF_SUBJECT, rsa, '1'),
      otherLeaf: issued('otherleaf', 'other', LEAF_SUBJECT, rsa, '365'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface EnvelopeOptions {
  /** Signs with this key (defaults to the first certificate's key). */
  key: KeyObject;
  chain: Buffer[];
  alg?: string;
  target?: { digest: string; mediaType: string; size: number };
  /** Merged into (or, with `undefined` values, removed from) the default protected header. */
  header?: Record<string, unknown>;
  /** Replaces the payload text after signing (tampering). */
  tamperedPayload?: string;
  /** Given the signature value, returns a DER TimeStampToken to attach. */
  timestamp?: (signature: Buffer) => Buffer;
}

export const SUBJECT = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${'ab'.repeat(32)}`,
  size: 1234,
};

export function signEnvelope(options: EnvelopeOptions): Buffer {
  const alg = options.alg ?? (options.key.asymmetricKeyType === 'ec' ? 'ES256' : 'PS256');
  const header: Record<string, unknown> = {
    alg,
    cty: 'application/vnd.cncf.notary.payload.v1+json',
    crit: ['io.cncf.notary.signingScheme'],
    'io.cncf.notary.signingScheme': 'notary.x509',
    'io.cncf.notary.signingTime': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    ...options.header,
  };
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const protectedText = b64(header);
  const payload = b64({ targetArtifact: options.target ?? SUBJECT });
  const input = Buffer.from(`${protectedText}.${payload}`);
  const hash = `sha${alg.slice(2)}`;
  const signature = alg.startsWith('PS')
    ? sign(hash, input, {
        key: options.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      })
    : sign(hash, input, { key: options.key, dsaEncoding: 'ieee-p1363' });
  const envelope = {
    payload: options.tamperedPayload ?? payload,
    protected: protectedText,
    header: {
      x5c: options.chain.map((der) => der.toString('base64')),
      'io.cncf.notary.signingAgent': 'refgraph-test',
      ...(options.timestamp
        ? { 'io.cncf.notary.timestampSignature': options.timestamp(signature).toString('base64') }
        : {}),
    },
    signature: signature.toString('base64url'),
  };
  return Buffer.from(JSON.stringify(envelope));
}
