// qemu-img for disk layers that no QEMU has open (a stopped VM's chain, a
// snapshot layer out of the running chain). Reads use -U (--force-share)
// so they also work beside a running QEMU; changes to files a QEMU has open
// go through QMP (drivers/vm), never through here.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run } from '../images/run.js';

export interface Qcow2Info {
  virtualSize: number;
  actualSize: number;
  backing?: string;
  backingFormat?: string;
}

export async function qcow2Info(file: string): Promise<Qcow2Info> {
  const j = JSON.parse(await run('qemu-img', ['info', '-U', '--output', 'json', file])) as {
    'virtual-size': number;
    'actual-size'?: number;
    'full-backing-filename'?: string;
    'backing-filename'?: string;
    'backing-filename-format'?: string;
  };
  const backing = j['full-backing-filename'] ?? j['backing-filename'];
  return { virtualSize: j['virtual-size'], actualSize: j['actual-size'] ?? 0, ...(backing ? { backing, backingFormat: j['backing-filename-format'] ?? 'qcow2' } : {}) };
}

/** A new empty qcow2 whose reads fall through to `backing` (O(1): metadata only). */
export async function createOverlay(file: string, backing: string, backingFormat = 'qcow2', sizeBytes?: number): Promise<void> {
  const args = ['create', '-q', '-f', 'qcow2', '-F', backingFormat, '-b', resolve(backing), file];
  if (sizeBytes !== undefined) args.push(String(sizeBytes));
  await run('qemu-img', args);
}

/**
 * Make `file` read from `newBacking` (null: from nothing) while showing the
 * same content: what it read through the old backing chain and the new one
 * does not have is copied into it first (qemu-img's safe mode). Interrupted,
 * the file still reads right through its old backing, so it is simply run again.
 */
export async function rebase(file: string, newBacking: string | null, newBackingFormat = 'qcow2'): Promise<void> {
  const args = ['rebase', '-q', '-f', 'qcow2'];
  args.push(...(newBacking === null ? ['-b', ''] : ['-F', newBackingFormat, '-b', resolve(newBacking)]), file);
  await run('qemu-img', args);
}

/** Write `src`'s whole chain as one new qcow2 (only what differs from `backing`, when given). */
export async function convert(src: string, dst: string, backing?: { path: string; format: string }): Promise<void> {
  const args = ['convert', '-U', '-q', '-O', 'qcow2'];
  if (backing) args.push('-B', resolve(backing.path), '-F', backing.format);
  args.push(src, dst);
  await run('qemu-img', args);
}

/** Space a file takes on the host (allocated blocks). */
export async function allocatedBytes(file: string): Promise<number> {
  const s = await stat(file);
  return s.blocks * 512;
}
