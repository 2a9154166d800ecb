/** Text layout shared by the commands that print artifacts: compact by default, `--wide` in full. */
import type { Command } from 'commander';
import { UsageError } from './exit.js';

/** How a command prints its answer: `-o text|wide|json` on every command, `--wide` and `--json` short for two. */
export type OutputMode = 'text' | 'wide' | 'json';

export interface OutputOptions {
  output?: string;
  wide?: boolean;
  json?: boolean;
}

/** Adds `-o, --output` and its short forms to a command; `modes` are those it can print. */
export function outputOptions(
  cmd: Command,
  json: string,
  modes: readonly OutputMode[] = ['text', 'wide', 'json'],
): Command {
  cmd.option('-o, --output <format>', `${modes.join(', ')} (json: ${json})`, 'text');
  if (modes.includes('wide')) cmd.option('--wide', 'as -o wide: full digests, lines not shortened');
  return cmd.option('--json', 'as -o json');
}

/** The mode the options ask for; an unknown or unsupported one is a usage error. */
export function outputMode(
  opts: OutputOptions,
  modes: readonly OutputMode[] = ['text', 'wide', 'json'],
): OutputMode {
  const asked = opts.output ?? 'text';
  if (!(modes as readonly string[]).includes(asked))
    throw new UsageError(`--output must be ${modes.join(', ')}`);
  if (opts.json) return 'json';
  if (opts.wide) return 'wide';
  return asked as OutputMode;
}

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
