// The text of whatever was thrown: catch blocks get `unknown`, and most throws are Errors, but not all.

/** An Error's (or error-like object's) message; anything else as text. */
export function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}
