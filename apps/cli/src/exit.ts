/** Process exit codes, the same for every command (documented in `refgraph --help`). */
export const EXIT = {
  ok: 0,
  /** The command got its answer and it is negative: denied by a policy, not verified, untrusted. */
  denied: 1,
  /** Bad arguments, or no answer could be computed (not running, token rejected, not known). */
  error: 2,
} as const;

export const EXIT_HELP = `Exit codes:
  0  ok: allowed, verified, done
  1  denied or untrusted: a policy denied the image, no trusted signature, a bundle failed
  2  usage or error: bad arguments, refgraph not reachable, token rejected, not in scope, not known`;

/** How a command's action reports its exit code to the program that runs it. */
export type Done = (code: number) => void;

/** Invalid invocation; reported as `usage: <message>` with exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Collapses whitespace so a message stays on one stderr line. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
