/** Process exit codes shared by every command. */
export const EXIT = {
  ok: 0,
  /** The command ran and the answer is negative (not verified, not trusted). */
  failed: 1,
  /** Bad arguments or unreadable inputs: no answer was computed. */
  usage: 2,
} as const;

/** Invalid invocation; reported as `usage: <message>` with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Collapses whitespace so a message stays on one stderr line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
