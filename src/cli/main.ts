// Entry point of the `lodge` command (bin/lodge runs the built copy of this).
import { reportError } from './errors.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Set exitCode instead of exiting so buffered stdout (a long table piped to
  // a slow reader) is flushed first.
  reportError(err);
}
