// Every workload a driver finds in its state directory, with its state: how
// both drivers answer list() after an agent restart. A directory whose state
// cannot be read is listed as 'unknown' all the same, so the agent deletes it
// rather than leaking it.
import { readdir } from 'node:fs/promises';
import type { Logger } from '../../util/log.js';
import { mapLimit } from '../drivers/container/proc.js';
import { WorkloadNotFoundError, type WorkloadState } from './driver.js';

export async function listWorkloads(dir: string, o: { valid(id: string): boolean; state(id: string): Promise<WorkloadState>; log: Logger; what: string }): Promise<WorkloadState[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  // Each state() may run a runtime process (runc, QMP): a node may have hundreds.
  return mapLimit(names.filter((id) => o.valid(id)), 8, async (id): Promise<WorkloadState> => {
    try {
      return await o.state(id);
    } catch (e) {
      // No record: a create that died in its first step.
      if (!(e instanceof WorkloadNotFoundError)) o.log.warn(`cannot read ${o.what} state`, { id, error: (e as Error).message });
      return { id, status: 'unknown' };
    }
  });
}

/** A validator as a predicate: names that are not ids are not directories the driver made. */
export function isValidId(validate: (id: string) => void): (id: string) => boolean {
  return (id) => {
    try {
      validate(id);
      return true;
    } catch {
      return false;
    }
  };
}
