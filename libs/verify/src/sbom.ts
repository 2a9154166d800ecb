import { DocumentError } from './intoto.js';
import { normalisePurl } from './purl.js';
import { isJsonLd, readSpdx3 } from './sbom-spdx3.js';

export interface SbomPackage {
  name: string;
  version: string | null;
  /** Canonical (normalisePurl), or the SBOM's string when it is no valid purl. */
  purl: string | null;
  /** The purl without version, qualifiers and subpath: what "which images contain X" queries match. */
  purlBase: string | null;
  licenses: string[];
}

export interface ParsedSbom {
  format: 'spdx' | 'cyclonedx';
  specVersion: string | null;
  name: string | null;
  packages: SbomPackage[];
}

/** Above this many packages a document is refused rather than stored half-way. */
export const MAX_SBOM_PACKAGES = 200_000;

/** CycloneDX nests components (1.7 assemblies); a deeper document is refused, not walked off the stack. */
const MAX_COMPONENT_DEPTH = 256;

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** In-toto predicate types that carry a whole SBOM document. */
export function isSbomPredicateType(type: string): boolean {
  return /^https:\/\/(spdx\.dev\/Document|cyclonedx\.org\/bom)(\/v?[\d.]+)?$/.test(type);
}

/** SPDX 2.x JSON, SPDX 3 JSON-LD or CycloneDX 1.x JSON; anything else is a `DocumentError`. */
export function parseSbom(doc: unknown): ParsedSbom {
  const d = obj(doc);
  if (!d) throw new DocumentError('SBOM is not a JSON object');
  // cosign's older SPDX attestations wrap the document as a string in `Data`.
  if (typeof d.Data === 'string' && Object.keys(d).length <= 2) {
    let inner: unknown;
    try {
      inner = JSON.parse(d.Data);
    } catch {
      throw new DocumentError('SBOM predicate Data is not JSON');
    }
    return parseSbom(inner);
  }
  if (typeof d.spdxVersion === 'string') return parseSpdx(d);
  if (d.bomFormat === 'CycloneDX') return parseCycloneDx(d);
  if (isJsonLd(d)) return parseSpdx3(d);
  throw new DocumentError(
    'not an SPDX (spdxVersion, or @context and @graph) or CycloneDX (bomFormat) JSON document',
  );
}

function parseSpdx(d: Json): ParsedSbom {
  const m = /^SPDX-(2\.\d+)$/.exec(d.spdxVersion as string);
  if (!m) throw new DocumentError(`unsupported SPDX version ${JSON.stringify(d.spdxVersion)}`);
  const list = d.packages === undefined ? [] : d.packages;
  if (!Array.isArray(list)) throw new DocumentError('SPDX packages is not an array');
  guardCount(list.length);
  const packages = list.map((raw, i): SbomPackage => {
    const p = obj(raw);
    const name = str(p?.name);
    if (!p || !name) throw new DocumentError(`SPDX packages[${i}] has no name`);
    const refs = Array.isArray(p.externalRefs) ? p.externalRefs.map(obj) : [];
    const purl = purlFields(str(refs.find((r) => r?.referenceType === 'purl')?.referenceLocator));
    const licenses = [p.licenseConcluded, p.licenseDeclared]
      .map(str)
      .filter((l): l is string => l !== null && l !== 'NOASSERTION' && l !== 'NONE');
    return { name, version: str(p.versionInfo), ...purl, licenses: unique(licenses) };
  });
  return { format: 'spdx', specVersion: m[1]!, name: str(d.name), packages };
}

function parseSpdx3(d: Json): ParsedSbom {
  const doc = readSpdx3(d, MAX_SBOM_PACKAGES);
  const packages = doc.packages.map((p): SbomPackage => ({ ...p, ...purlFields(p.purl) }));
  return { format: 'spdx', specVersion: doc.specVersion, name: doc.name, packages };
}

function parseCycloneDx(d: Json): ParsedSbom {
  const specVersion = str(d.specVersion);
  if (!specVersion || !/^1\.\d+$/.test(specVersion)) {
    throw new DocumentError(`unsupported CycloneDX specVersion ${JSON.stringify(d.specVersion ?? null)}`);
  }
  const packages: SbomPackage[] = [];
  const walk = (list: unknown, where: string, depth = 0): void => {
    if (list === undefined) return;
    if (depth > MAX_COMPONENT_DEPTH) {
      throw new DocumentError(`CycloneDX components nest deeper than ${MAX_COMPONENT_DEPTH} levels`);
    }
    if (!Array.isArray(list)) throw new DocumentError(`CycloneDX ${where} is not an array`);
    list.forEach((raw, i) => {
      const c = obj(raw);
      const name = str(c?.name);
      if (!c || !name) throw new DocumentError(`CycloneDX ${where}[${i}] has no name`);
      packages.push({
        name,
        version: str(c.version),
        ...purlFields(str(c.purl)),
        licenses: cdxLicenses(c.licenses),
      });
      guardCount(packages.length);
      walk(c.components, `${where}[${i}].components`, depth + 1);
    });
  };
  walk(d.components, 'components');
  const meta = obj(obj(d.metadata)?.component);
  return { format: 'cyclonedx', specVersion, name: str(meta?.name), packages };
}

function cdxLicenses(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out = v.flatMap((raw) => {
    const e = obj(raw);
    const l = obj(e?.license);
    const value = str(e?.expression) ?? str(l?.id) ?? str(l?.name);
    return value ? [value] : [];
  });
  return unique(out);
}

/** Stored in canonical form; a string that is no valid purl is kept as given but matches no base search. */
function purlFields(raw: string | null): Pick<SbomPackage, 'purl' | 'purlBase'> {
  const n = normalisePurl(raw);
  return n ?? { purl: raw, purlBase: null };
}

function guardCount(n: number): void {
  if (n > MAX_SBOM_PACKAGES) throw new DocumentError(`SBOM lists more than ${MAX_SBOM_PACKAGES} packages`);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
