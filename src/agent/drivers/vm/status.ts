// QEMU's run states (QMP query-status) as workload states. Only guests that
// have been started can be running or paused; before start() QEMU sits in
// prelaunch (-S). "failed" states keep QEMU alive holding a dead guest.
import type { WorkloadStatus } from '../../runtime/driver.js';

export function mapQemuStatus(status: string, started: boolean): { status: WorkloadStatus; failed: boolean } {
  switch (status) {
    case 'prelaunch':
    case 'inmigrate':
      return { status: 'created', failed: false };
    case 'running':
      return { status: 'running', failed: false };
    case 'guest-panicked':
    case 'internal-error':
    case 'shutdown':
      return { status: 'stopped', failed: true };
    default:
      // paused, suspended (guest S3), io-error, watchdog, debug, finish-migrate, postmigrate, save-vm, restore-vm, colo
      return { status: started ? 'paused' : 'created', failed: false };
  }
}
