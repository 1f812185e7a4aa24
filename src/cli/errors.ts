// Error text as kubectl prints it, so scripts and people recognise it:
//   Error from server (NotFound): pods "x" not found
//   error: the server doesn't have a resource type "foo"
import { ApiError } from '../client/errors.js';

export function formatError(err: unknown): string {
  if (err instanceof ApiError) {
    // kubectl prints validation failures bare: 'The Pod "x" is invalid: ...'.
    if (err.reason === 'Invalid') return err.message;
    return `Error from server (${err.reason}): ${err.message}`;
  }
  if (err instanceof Error) return `error: ${err.message}`;
  return `error: ${String(err)}`;
}

/** The same error with a note on which file/operation it came from, kubectl's "error when creating". */
export function withContext(err: unknown, context: string): unknown {
  if (err instanceof ApiError) return new ApiError(err.code, err.reason, `${context}: ${err.message}`, err.details);
  if (err instanceof Error) return new Error(`${context}: ${err.message}`, { cause: err });
  return err;
}

/** Print an error and make the process exit 1 once it has flushed its output. */
export function reportError(err: unknown): void {
  process.stderr.write(formatError(err) + '\n');
  process.exitCode = 1;
}
