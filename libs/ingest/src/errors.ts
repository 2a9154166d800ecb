import { ManifestError } from '#oci';
import { InvalidNameError, RegistryError } from '#registry';
import { isInputError } from '#store';
import { RegistryBusyError } from './registry-budget.js';

/**
 * Whether an attempt that failed with `err` is worth repeating. The one place ingest decides it:
 * registry errors say so themselves (down, rate limited: yes; not found, denied, wrong bytes: no);
 * content that fails parsing, names that fail the grammar and values Postgres cannot store fail
 * the same way every time; anything else (connections lost, timeouts) may pass later.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RegistryError) return err.retryable;
  if (err instanceof RegistryBusyError) return true;
  if (err instanceof ManifestError || err instanceof InvalidNameError) return false;
  return !isInputError(err);
}

/** The registry says the manifest or tag does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof RegistryError && err.code === 'not_found';
}

// eslint-disable-next-line no-control-regex -- NUL is exactly what this must find.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A bounded, storable description of an error for an event's last_error. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // A message may quote the input: NUL and lone surrogates would make the outcome unstorable too.
  return `${code}${message}`.replace(UNSTORABLE, '\ufffd').slice(0, 2000);
}
