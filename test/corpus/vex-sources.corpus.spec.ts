import { parseVulnerabilityDocument, type ParsedVex, type VexStatement, type VexStatus } from '#verify';
import { corpusJson } from './trust-corpus.helpers.js';
import { describeListedFiles } from './sources-table.js';

/**
 * Every VEX document that `vex/SOURCES.md` lists (OpenVEX from go-vex, CSAF VEX from the OASIS CSAF
 * TC), read by the same entry point the ingest job uses and checked against facts read from the file:
 * document id, author, time, how many statements of each status, and named statements whole.
 */

interface VexExpectation {
  documentId: string;
  author: string;
  timestamp: string | null;
  statuses: Partial<Record<VexStatus, number>>;
  /** Statements compared whole (the document may hold more). */
  some: VexStatement[];
}

/** A CSAF product named only by its product id: no digest, no package, no subcomponent. */
const csafProduct = (id: string) => ({ id, digests: [], packages: [], subcomponents: [] });

const csaf = (
  vulnerabilityId: string,
  status: VexStatus,
  productId: string,
  timestamp: string,
  more: Partial<Pick<VexStatement, 'justification' | 'impactStatement' | 'actionStatement'>> = {},
): VexStatement => ({
  vulnerabilityId,
  aliases: [],
  status,
  justification: null,
  impactStatement: null,
  actionStatement: null,
  timestamp,
  products: [csafProduct(productId)],
  ...more,
});

const ALPINE = 'pkg:oci/alpine@sha256%3A124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126';
const EVD_RELEASE = '2022-03-03T11:00:00.000Z';

const EXPECTED: Record<string, VexExpectation> = {
  'go-vex_v0.2.0.openvex.json': {
    documentId:
      'https://openvex.dev/docs/public/vex-d4e9020b6d0d26f131d535e055902dd6ccf3e2088bce3079a8cd3588a4b14c78',
    author: 'The OpenVEX Project <openvex@openssf.org>',
    // 2023-07-17T18:28:47.696004345-06:00; the statements carry no time of their own
    timestamp: '2023-07-18T00:28:47.696Z',
    statuses: { fixed: 3, not_affected: 2 },
    some: [
      {
        vulnerabilityId: 'CVE-2023-3446',
        aliases: [],
        status: 'not_affected',
        justification: 'vulnerable_code_not_present',
        impactStatement: 'affected functions were removed before packaging',
        actionStatement: null,
        timestamp: '2023-07-18T00:28:47.696Z',
        products: [
          {
            id: ALPINE,
            digests: ['sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126'],
            packages: [],
            subcomponents: ['pkg:apk/alpine/libssl3@3.0.8-r3', 'pkg:apk/alpine/libcrypto3@3.0.8-r3'],
          },
        ],
      },
    ],
  },
  'go-vex_v020-1.openvex.json': {
    documentId:
      'https://openvex.dev/docs/public/vex-3f59b4dffdeae0183e5e6a9d7a2461fdf86a03c079f4129050bb462eca366beb',
    author: 'John Doe',
    timestamp: null,
    statuses: { under_investigation: 1 },
    some: [
      {
        vulnerabilityId: 'CVE-9876-54321',
        aliases: [],
        status: 'under_investigation',
        justification: null,
        impactStatement: null,
        actionStatement: null,
        timestamp: '2022-12-22T21:36:43.000Z',
        // a package, not an image: it names a purl and no digest
        products: [
          {
            id: 'pkg:apk/wolfi/bash@1.0.0',
            digests: [],
            packages: ['pkg:apk/wolfi/bash@1.0.0'],
            subcomponents: [],
          },
        ],
      },
    ],
  },
  'csaf_sec-vex-2022-0001.json': {
    documentId: 'SEC-VEX-2022-0001',
    author: 'Secvisogram',
    timestamp: '2022-05-27T10:00:00.000Z',
    statuses: { not_affected: 3 },
    some: [
      csaf('CVE-2021-45046', 'not_affected', 'CSAFPID-0001', '2022-05-27T10:00:00.000Z', {
        justification: 'component_not_present',
        impactStatement: 'Secvisogram is written in JavaScript. No Java is included.',
      }),
    ],
  },
  'csaf_2022-evd-uc-03-ms-001.json': {
    documentId: '2022-EVD-UC-03-MS-001',
    author: 'Example Company ProductCERT',
    timestamp: EVD_RELEASE,
    statuses: { under_investigation: 5, not_affected: 6, affected: 5, fixed: 3 },
    some: [
      csaf('CVE-2020-11896', 'under_investigation', 'CSAFPID-0001', EVD_RELEASE),
      csaf('CVE-2020-11897', 'not_affected', 'CSAFPID-0001', EVD_RELEASE, {
        impactStatement: 'IPv6 is not supported and code is not present.',
      }),
      csaf('CVE-2020-11898', 'affected', 'CSAFPID-0001', EVD_RELEASE, {
        actionStatement: 'We are working to integrate the upstream patches in our code.',
      }),
      csaf('CVE-2020-11914', 'fixed', 'CSAFPID-0001', EVD_RELEASE),
    ],
  },
  'csaf_2022-evd-uc-08-001.json': {
    documentId: '2022-EVD-UC-08-001',
    author: 'Example Company ProductCERT',
    timestamp: EVD_RELEASE,
    // `recommended` (CSAFPID-0011 for CVE-2021-44228) is a CSAF product status but no VEX status
    statuses: { fixed: 3, affected: 8, not_affected: 10 },
    some: [
      csaf('CVE-2021-44228', 'affected', 'CSAFPID-0002', EVD_RELEASE, {
        actionStatement: 'Update to version 4.2 or later.',
      }),
      csaf('CVE-2021-44228', 'affected', 'CSAFPID-0008', EVD_RELEASE, {
        actionStatement: 'Update to the new version 5.2 or later.',
      }),
      csaf('CVE-2021-44228', 'not_affected', 'CSAFPID-0009', EVD_RELEASE, {
        impactStatement: 'Log4j was not included in those versions at all.',
      }),
      csaf('CVE-2021-44228', 'fixed', 'CSAFPID-0011', EVD_RELEASE),
      csaf('CVE-2021-45105', 'affected', 'CSAFPID-0010', EVD_RELEASE, {
        actionStatement: 'Update to the new version 5.2 or later.',
      }),
    ],
  },
};

/** What the raw document says about its own format, beside what the parser made of it. */
function declaredBy(raw: Record<string, unknown>, format: string): void {
  const openvex = /^openvex-(\d+\.\d+\.\d+)$/.exec(format);
  const csafVex = /^csaf-(\d+\.\d+)-vex$/.exec(format);
  expect(openvex ?? csafVex).not.toBeNull(); // a VEX format: openvex-<version> or csaf-<version>-vex
  if (openvex) {
    expect(raw['@context']).toBe(`https://openvex.dev/ns/v${openvex[1]}`);
  } else {
    expect(raw.document).toMatchObject({ category: 'csaf_vex', csaf_version: csafVex![1] });
  }
}

function statusCounts(doc: ParsedVex): Partial<Record<VexStatus, number>> {
  const out: Partial<Record<VexStatus, number>> = {};
  for (const s of doc.statements) out[s.status] = (out[s.status] ?? 0) + 1;
  return out;
}

describeListedFiles('vex', EXPECTED, (row, expected) => {
  const raw = corpusJson<Record<string, unknown>>('vex', row.file);
  declaredBy(raw, row.format);
  const doc = parseVulnerabilityDocument(raw);
  expect(doc.kind).toBe('vex');
  const vex = doc as ParsedVex;
  expect(vex).toMatchObject({
    format: row.format.startsWith('openvex-') ? 'openvex' : 'csaf',
    documentId: expected.documentId,
    author: expected.author,
    timestamp: expected.timestamp,
    skipped: 0,
  });
  expect(statusCounts(vex)).toEqual(expected.statuses);
  for (const want of expected.some) expect(vex.statements).toContainEqual(want);
});
