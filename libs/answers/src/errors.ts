/** Why a reference could not be answered, as a code policy engines can match on. */
export type NotFoundReason = 'unknown_registry' | 'unknown_tag' | 'unknown_digest' | 'not_in_scope';

/**
 * Nothing the caller may see answers to this input. Outside the caller's scope and unknown read
 * the same (`not_in_scope` only where the caller named the repository itself).
 */
export class NotFoundError extends Error {
  constructor(
    message: string,
    readonly reason: NotFoundReason = 'unknown_digest',
  ) {
    super(message);
    this.name = 'NotFoundError';
  }
}
