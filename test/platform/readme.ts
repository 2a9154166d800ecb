import { readFileSync } from 'node:fs';

/** A fenced block of README.md: its language tag ('' when none), body and line. */
export interface Block {
  lang: string;
  body: string;
  line: number;
}

export function readmeBlocks(file = 'README.md'): Block[] {
  const md = readFileSync(file, 'utf8');
  return [...md.matchAll(/^```([\w-]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    body: m[2]!,
    line: md.slice(0, m.index).split('\n').length,
  }));
}

/** Inline code spans of README.md outside fenced blocks. */
export function readmeInlineCode(file = 'README.md'): string[] {
  const md = readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
  return [...md.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
}

/** The text of README.md outside fenced blocks. */
export function readmeProse(file = 'README.md'): string {
  return readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
}
