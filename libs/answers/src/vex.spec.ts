import type { VexStatementRow } from '#store';
import { applicable, verdict } from './vex.js';

const IMAGE = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const finding = {
  vulnerabilityId: 'CVE-2023-5363',
  aliases: ['GHSA-XW78-PCR6-WRG8'],
  purl: 'pkg:apk/alpine/libcrypto3@3.1.3-r0?arch=x86_64',
  purlBase: 'pkg:apk/alpine/libcrypto3',
};

let n = 0;
function statement(over: Partial<VexStatementRow>): VexStatementRow {
  n += 1;
  return {
    id: n,
    subjectDigest: IMAGE,
    artifactDigest: `sha256:${String(n).padStart(64, '0')}`,
    format: 'openvex',
    author: null,
    vulnerabilityId: 'CVE-2023-5363',
    aliases: [],
    status: 'not_affected',
    justification: null,
    impactStatement: null,
    actionStatement: null,
    statedAt: new Date('2026-11-21T08:00:00Z'),
    products: [],
    signed: true,
    verified: true,
    ...over,
  };
}
const product = (p: Partial<VexStatementRow['products'][number]>) => ({
  id: null,
  digests: [],
  packages: [],
  subcomponents: [],
  ...p,
});

describe('which VEX statements apply to a finding', () => {
  it('a product naming digests covers exactly those images; one naming none covers the document subject', () => {
    const named = statement({ subjectDigest: OTHER, products: [product({ digests: [IMAGE] })] });
    const elsewhere = statement({ products: [product({ digests: [OTHER] })] });
    const unnamed = statement({ subjectDigest: OTHER, products: [product({ id: 'pkg:oci/app' })] });
    const bare = statement({});
    const got = applicable(IMAGE, finding, [named, elsewhere, unnamed, bare], 'verified');
    expect(got.map((s) => s.document.artifact).sort()).toEqual(
      [named.artifactDigest, bare.artifactDigest].sort(),
    );
  });

  it('subcomponents and package products limit a statement to findings in those packages', () => {
    const same = statement({
      products: [product({ subcomponents: ['pkg:apk/alpine/libcrypto3@3.1.3-r0'] })],
    });
    const anyVersion = statement({ products: [product({ packages: ['pkg:apk/alpine/libcrypto3'] })] });
    const otherVersion = statement({
      products: [product({ subcomponents: ['pkg:apk/alpine/libcrypto3@3.0.0'] })],
    });
    const otherPackage = statement({ products: [product({ subcomponents: ['pkg:apk/alpine/busybox'] })] });
    const got = applicable(IMAGE, finding, [same, anyVersion, otherVersion, otherPackage], 'any');
    expect(got.map((s) => s.document.artifact).sort()).toEqual(
      [same.artifactDigest, anyVersion.artifactDigest].sort(),
    );
  });

  it('matches by alias either way, and never another vulnerability', () => {
    const byAlias = statement({ vulnerabilityId: 'GHSA-XW78-PCR6-WRG8' });
    const listsOurs = statement({ vulnerabilityId: 'ACME-1', aliases: ['CVE-2023-5363'] });
    const unrelated = statement({ vulnerabilityId: 'CVE-2023-5678' });
    expect(applicable(IMAGE, finding, [byAlias, listsOurs, unrelated], 'any')).toHaveLength(2);
  });
});

describe('the effective status', () => {
  it('the latest counted statement wins; unverified ones count only with vex=any', () => {
    const old = statement({ status: 'affected', statedAt: new Date('2026-01-01T00:00:00Z') });
    const unsigned = statement({ status: 'not_affected', signed: false, verified: false });
    expect(verdict(applicable(IMAGE, finding, [old, unsigned], 'verified'))).toMatchObject({
      status: 'affected',
      affected: true,
    });
    expect(verdict(applicable(IMAGE, finding, [old, unsigned], 'any'))).toMatchObject({
      status: 'not_affected',
      affected: false,
    });
  });

  it('no statement keeps the finding affected; on equal times the affected statement wins', () => {
    expect(verdict([])).toEqual({ status: null, affected: true, statement: null });
    const t = new Date('2026-11-21T08:00:00Z');
    const cleared = statement({ status: 'fixed', statedAt: t });
    const open = statement({ status: 'under_investigation', statedAt: t });
    expect(verdict(applicable(IMAGE, finding, [open, cleared], 'any')).status).toBe('under_investigation');
    expect(verdict(applicable(IMAGE, finding, [cleared, open], 'any')).status).toBe('under_investigation');
  });
});
