/** Text layout shared by the commands that print artifacts: compact by default, `--wide` in full. */

/** `sha256:0123abcd…`: enough to tell digests apart on a screen; --wide and JSON keep them whole. */
export function shortDigest(digest: string, wide = false): string {
  if (wide) return digest;
  const colon = digest.indexOf(':');
  return colon > 0 && digest.length > colon + 9 ? `${digest.slice(0, colon + 9)}…` : digest;
}

/** Line width of compact output; --wide lifts it. */
export const WIDTH = 100;

/** Cuts a line to `width` characters with a trailing ellipsis. */
export function fit(line: string, width = WIDTH): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}

const TYPE_LABELS: Array<[RegExp, string]> = [
  [/^application\/vnd\.dev\.cosign\.simplesigning\.v1\+json$/, 'cosign signature'],
  [/^application\/vnd\.dev\.sigstore\.bundle/, 'sigstore bundle'],
  [/^application\/vnd\.cncf\.notary\.signature$/, 'notation signature'],
  [/^application\/vnd\.in-toto/, 'in-toto'],
  [/^application\/vnd\.dsse\.envelope/, 'dsse envelope'],
  [/^application\/vnd\.docker\.attestation\.manifest/, 'buildkit attestation'],
  [/^(application|text)\/spdx/, 'spdx sbom'],
  [/^application\/vnd\.cyclonedx/, 'cyclonedx sbom'],
];

/** A media or artifact type in few characters: known types by name, others without boilerplate. */
export function shortType(type: string | null, wide = false): string {
  if (!type) return '-';
  if (wide) return type;
  for (const [re, label] of TYPE_LABELS) if (re.test(type)) return label;
  return type.replace(/^application\//, '').replace(/^vnd\./, '');
}
