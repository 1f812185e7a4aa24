// Long-running commands (`lodge up`, `lodge agent`) run until SIGTERM or
// SIGINT, then shut down once and exit 0, or 1 when the shutdown fails.
import type { Logger } from '../util/log.js';

export function stopOnSignal(log: Logger, shutdown: () => Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    shutdown()
      .then(() => process.exit(0))
      .catch((e: Error) => {
        log.error('shutdown failed', { error: e.message });
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
