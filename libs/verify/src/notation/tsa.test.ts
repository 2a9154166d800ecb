// Test-only helpers (excluded from the build by the *.test.ts pattern): a throwaway RFC 3161 TSA run
// with the openssl CLI (`openssl ts -reply`), so tokens come from an independent implementation.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestTsa {
  /** PEM of the TSA root, for the `tsa` trust store. */
  rootPem: string;
  /** PEM of another root that issued nothing here. */
  otherRootPem: string;
  /** A TimeStampToken (DER) over `data`, from the TSA's own certificate and key. */
  stamp(data: Buffer, options?: StampOptions): Buffer;
  /**
   * A token with the TSTInfo of a real stamp over `data`, signed (CMS, CAdES signing-certificate-v2)
   * by a certificate of the same root that lacks the timeStamping extended key usage.
   */
  stampWithoutTimestampingEku(data: Buffer): Buffer;
  close(): void;
}

export interface StampOptions {
  /** Stated accuracy; none by default (then 0: the policy is not the ETSI baseline). */
  accuracySeconds?: number;
  hash?: 'sha256' | 'sha384' | 'sha512';
  /** Whether the token also carries the TSA root (default true). */
  withRoot?: boolean;
}

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

export function createTestTsa(): TestTsa {
  const dir = mkdtempSync(path.join(tmpdir(), 'notation-tsa-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const root = (name: string, subject: string) => {
    openssl('genpkey', ...ec, '-out', `${name}.key`);
    openssl(
      'req', '-x509', '-new', '-key', `${name}.key`, '-subj', subject, '-days', '3650', '-out', `${name}.crt`,
      ...CA_EXT.flatMap((e) => ['-addext', e]),
    ); // prettier-ignore
  };
  const leaf = (name: string, subject: string, ext: string[]) => {
    openssl('genpkey', ...ec, '-out', `${name}.key`);
    openssl('req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`);
    writeFileSync(file(`${name}.ext`), ext.join('\n'));
    openssl(
      'x509', '-req', '-in', `${name}.csr`, '-CA', 'root.crt', '-CAkey', 'root.key', '-set_serial',
      String(Date.now()), '-days', '365', '-extfile', `${name}.ext`, '-out', `${name}.crt`,
    ); // prettier-ignore
  };
  root('root', '/C=US/ST=WA/O=Test TSA/CN=Test TSA Root');
  root('other', '/C=US/ST=WA/O=Elsewhere/CN=Other TSA Root');
  leaf('tsa', '/C=US/ST=WA/O=Test TSA/CN=Test TSA', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=critical,timeStamping',
  ]);
  leaf('nottsa', '/C=US/ST=WA/O=Test TSA/CN=Not a TSA', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=codeSigning',
  ]);
  writeFileSync(file('serial'), '01\n');
  let counter = 0;

  const stamp: TestTsa['stamp'] = (data, options = {}) => {
    const n = ++counter;
    writeFileSync(
      file(`tsa${n}.cnf`),
      [
        '[ tsa ]',
        'default_tsa = tsa_config',
        '[ tsa_config ]',
        `serial = ${file('serial')}`,
        'signer_digest = sha256',
        'default_policy = 1.3.6.1.4.1.55555.1',
        'digests = sha256, sha384, sha512',
        ...(options.accuracySeconds ? [`accuracy = secs:${options.accuracySeconds}`] : []),
        'ess_cert_id_alg = sha256',
        'ess_cert_id_chain = no',
        'ordering = no',
        'tsa_name = no',
      ].join('\n'),
    );
    writeFileSync(file(`data${n}`), data);
    openssl('ts', '-query', '-data', `data${n}`, `-${options.hash ?? 'sha256'}`, '-cert', '-no_nonce', '-out', `q${n}.tsq`); // prettier-ignore
    openssl(
      'ts', '-reply', '-config', `tsa${n}.cnf`, '-queryfile', `q${n}.tsq`, '-signer', 'tsa.crt', '-inkey', 'tsa.key',
      ...(options.withRoot === false ? [] : ['-chain', 'root.crt']), '-token_out', '-out', `t${n}.der`,
    ); // prettier-ignore
    return readFileSync(file(`t${n}.der`));
  };

  return {
    rootPem: readFileSync(file('root.crt'), 'utf8'),
    otherRootPem: readFileSync(file('other.crt'), 'utf8'),
    stamp,
    stampWithoutTimestampingEku(data) {
      writeFileSync(file('good.der'), stamp(data));
      openssl('cms', '-verify', '-noverify', '-inform', 'DER', '-in', 'good.der', '-out', 'tstinfo.der');
      openssl(
        'cms', '-sign', '-binary', '-nodetach', '-nosmimecap', '-cades', '-md', 'sha256', '-econtent_type',
        '1.2.840.113549.1.9.16.1.4', '-in', 'tstinfo.der', '-signer', 'nottsa.crt', '-inkey', 'nottsa.key',
        '-certfile', 'root.crt', '-outform', 'DER', '-out', 'bad.der',
      ); // prettier-ignore
      return readFileSync(file('bad.der'));
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
