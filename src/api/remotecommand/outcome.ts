// What an exec's error channel or stream carries once the process is over,
// whichever transport carries it: v4 and v5 send a metav1.Status (Success, or
// NonZeroExitCode with the code as a cause, which kubectl turns into its own
// exit code); older protocols send the bare message, and nothing on success.
import { ExecUnavailableError } from '../../agent/exec/node-exec.js';
import { ExecFailedError } from '../../agent/runtime/driver.js';

export type ExecResult = { exitCode: number } | Error;

/** The outcome as the protocol spells it; undefined when it says nothing (success before v4). */
export function execOutcome(result: ExecResult, command: string[], structured: boolean): string | undefined {
  if (!(result instanceof Error)) {
    if (result.exitCode === 0) return structured ? JSON.stringify({ metadata: {}, status: 'Success' }) : undefined;
    const message = `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`;
    if (!structured) return message;
    return JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] } });
  }
  let status: Record<string, unknown>;
  if (result instanceof ExecUnavailableError && result.reason === 'container') status = { status: 'Failure', message: result.message, reason: 'NotFound', code: 404 };
  else if (result instanceof ExecUnavailableError && result.reason === 'notRunning') status = { status: 'Failure', message: result.message, reason: 'BadRequest', code: 400 };
  else {
    const why = result instanceof ExecFailedError ? result.reason : result.message;
    status = { status: 'Failure', message: `Internal error occurred: error executing command in container: ${why}`, reason: 'InternalError', details: { causes: [{ message: why }] }, code: 500 };
  }
  return structured ? JSON.stringify({ metadata: {}, ...status }) : String(status.message);
}
