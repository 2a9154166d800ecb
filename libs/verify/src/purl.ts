// Package URL normalisation: the one canonical form purls are stored and searched in.
import { PackageURL } from 'packageurl-js';

export interface NormalisedPurl {
  /** Canonical purl (purl-spec): lowercase scheme and type, type rules applied (e.g. pypi names), sorted qualifiers, encoded components. */
  purl: string;
  /** Canonical purl without version, qualifiers and subpath: what "which images contain X" matches. */
  purlBase: string;
}

/**
 * Parses `raw` with packageurl-js and returns its canonical forms; null for anything that is not a
 * valid purl (no `pkg:` scheme, no type or name, bad encoding). Two spellings of one package
 * (`pkg:PyPI/Django_Rest@1.0` and `pkg:pypi/django-rest@1.0`) normalise to the same string, so
 * stored SBOM packages and a search input compare as strings once both went through here.
 */
export function normalisePurl(raw: string | null | undefined): NormalisedPurl | null {
  if (typeof raw !== 'string' || raw.length === 0) return null;
  let parsed: PackageURL;
  try {
    parsed = PackageURL.fromString(raw.trim());
  } catch {
    return null;
  }
  return {
    purl: parsed.toString(),
    purlBase: new PackageURL(parsed.type, parsed.namespace, parsed.name).toString(),
  };
}

/** The canonical base of `purl` (see normalisePurl); null for anything that is not a valid purl. */
export function purlBase(purl: string | null | undefined): string | null {
  return normalisePurl(purl)?.purlBase ?? null;
}
