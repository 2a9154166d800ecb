import pg from 'pg';

/**
 * SQLSTATEs that are properties of the values written, not of the database's state: trying the
 * same write again can only fail the same way. Class 22 is "data exception" (22P05 untranslatable
 * character such as \u0000 in jsonb, 22021 a NUL or invalid byte in text, 22001 too long for the
 * column, ...); 54000 is a value too large for an index row.
 */
const INPUT_ERROR_CLASS = '22';
const INPUT_ERROR_CODES: ReadonlySet<string> = new Set(['54000']);

/** True when Postgres refused a statement because of the data it was given. */
export function isInputError(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError) || typeof err.code !== 'string') return false;
  return err.code.startsWith(INPUT_ERROR_CLASS) || INPUT_ERROR_CODES.has(err.code);
}
