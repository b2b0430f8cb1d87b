/**
 * A failure worth retrying: a timeout, a connection reset, a 429. Anything not
 * marked transient is permanent and goes to the dead-letter topic at once.
 * Duck-typed (`transient: true`) so errors from other libraries can opt in.
 */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
  readonly transient = true as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isTransient(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { transient?: unknown }).transient === true
  );
}
