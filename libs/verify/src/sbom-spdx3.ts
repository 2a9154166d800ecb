// SPDX 3 JSON-LD documents (`@context` + `@graph` of typed elements): packages, versions, purls, licences.
import { DocumentError } from './intoto.js';

/** A package as the document spells it; the caller normalises the purl. */
export interface Spdx3Package {
  name: string;
  version: string | null;
  purl: string | null;
  licenses: string[];
}

export interface Spdx3Document {
  specVersion: string;
  name: string | null;
  packages: Spdx3Package[];
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** The SPDX global context names its version: `https://spdx.org/rdf/3.0.1/spdx-context.jsonld`. */
const CONTEXT = /^https:\/\/spdx\.org\/rdf\/(3\.\d+(?:\.\d+)?)\/spdx-context\.jsonld$/;
const LICENSE_RELATIONSHIPS = new Set(['hasConcludedLicense', 'hasDeclaredLicense']);
/** Licence individuals that state no licence (SPDX 2's NOASSERTION and NONE). */
const NO_LICENSE = /(NoAssertionLicense|NoneLicense)$/;

/** True for a JSON-LD document: SPDX 3 is read only from its JSON-LD serialisation. */
export function isJsonLd(d: Json): boolean {
  return d['@context'] !== undefined || d['@graph'] !== undefined;
}

/**
 * Reads an SPDX 3 JSON-LD document. The spec version comes from a CreationInfo's `specVersion`,
 * else from the global context's URL; a document whose context is not SPDX 3's is refused. Every
 * `software_Package` of the graph is a package, whichever profile or SBOM element lists it.
 */
export function readSpdx3(d: Json, maxPackages: number): Spdx3Document {
  const contextVersion = list(d['@context'])
    .map((c) => CONTEXT.exec(str(c) ?? '')?.[1])
    .find((v) => v !== undefined);
  if (!contextVersion) {
    throw new DocumentError(
      'JSON-LD document without the SPDX 3 context (https://spdx.org/rdf/3.x/spdx-context.jsonld)',
    );
  }
  const graph = d['@graph'];
  if (!Array.isArray(graph)) throw new DocumentError('SPDX 3 document has no @graph array');

  const byId = new Map<string, Json>();
  const packages: Json[] = [];
  const licenseLinks: Json[] = [];
  let specVersion: string | null = null;
  let name: string | null = null;
  for (const raw of graph) {
    const e = obj(raw);
    if (!e) continue;
    const type = str(e.type) ?? str(e['@type']);
    const id = str(e.spdxId) ?? str(e['@id']);
    if (id) byId.set(id, e);
    switch (type ?? '') {
      case 'software_Package':
        packages.push(e);
        if (packages.length > maxPackages) {
          throw new DocumentError(`SBOM lists more than ${maxPackages} packages`);
        }
        break;
      case 'CreationInfo':
        specVersion ??= str(e.specVersion);
        break;
      case 'SpdxDocument':
        name ??= str(e.name);
        break;
      case 'Relationship':
        if (LICENSE_RELATIONSHIPS.has(str(e.relationshipType) ?? '')) licenseLinks.push(e);
        break;
      default:
        break;
    }
    // CreationInfo may also be inlined in an element instead of being a blank node of the graph.
    specVersion ??= str(obj(e.creationInfo)?.specVersion);
  }
  specVersion ??= contextVersion;
  if (!/^3\.\d+(\.\d+)?$/.test(specVersion)) {
    throw new DocumentError(`unsupported SPDX version ${JSON.stringify(specVersion)}`);
  }

  const licensesOf = new Map<string, string[]>();
  for (const rel of licenseLinks) {
    const from = str(rel.from);
    if (!from) continue;
    const found = licensesOf.get(from) ?? [];
    for (const to of list(rel.to)) {
      const text = licenseText(str(to), byId);
      if (text) found.push(text);
    }
    licensesOf.set(from, found);
  }

  return {
    specVersion,
    name,
    packages: packages.map((p, i): Spdx3Package => {
      const pkgName = str(p.name);
      if (!pkgName) throw new DocumentError(`SPDX software_Package #${i} has no name`);
      const id = str(p.spdxId) ?? str(p['@id']);
      return {
        name: pkgName,
        version: str(p.software_packageVersion),
        purl: str(p.software_packageUrl) ?? externalPurl(p.externalIdentifier),
        licenses: [...new Set(id ? (licensesOf.get(id) ?? []) : [])],
      };
    }),
  };
}

/** `externalIdentifier` entries of type `packageUrl` (the element's purl when `software_packageUrl` is absent). */
function externalPurl(v: unknown): string | null {
  for (const raw of list(v)) {
    const x = obj(raw);
    if (str(x?.externalIdentifierType) === 'packageUrl' && str(x?.identifier)) return str(x?.identifier);
  }
  return null;
}

/**
 * A licence element as text: a LicenseExpression's expression, a listed licence's identifier (its
 * IRI ends in the SPDX licence id), a custom licence's name. "No assertion" and "none" are dropped,
 * as for SPDX 2; an IRI the graph does not define is kept only when it names a listed licence.
 */
function licenseText(id: string | null, byId: Map<string, Json>): string | null {
  if (!id || NO_LICENSE.test(id)) return null;
  const e = byId.get(id);
  const listed = /^https?:\/\/spdx\.org\/licenses\/([A-Za-z0-9.+-]+)$/.exec(id)?.[1] ?? null;
  if (!e) return listed;
  const type = str(e.type) ?? str(e['@type']) ?? '';
  if (NO_LICENSE.test(type)) return null;
  const text = str(e.simplelicensing_licenseExpression) ?? listed ?? str(e.name);
  // Documents converted from SPDX 2 keep its placeholders as expressions.
  return text === 'NOASSERTION' || text === 'NONE' ? null : text;
}
