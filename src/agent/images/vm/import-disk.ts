// An imported VM image: a disk someone made (qcow2 or raw) and the kernel it
// boots with — Lodge boots kernels directly, without firmware, so a disk
// alone is not bootable here. The disk is converted to qcow2 (the format VM
// overlays are backed by) and the boot files copied, so the image does not
// depend on the files it came from.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../../drivers/container/command.js';

const run = promisify(execFile);

export interface ImportedDisk {
  /** The disk image file: qcow2 or raw (detected). */
  disk: string;
  kernel: string;
  initrd?: string;
  /** The command line the disk needs, e.g. root=/dev/vda1 ro. */
  cmdline?: string;
}

export interface ImportedFiles {
  kernel: string;
  initrd?: string;
  cmdline: string;
  disk: { file: string; format: 'qcow2' };
  digest: string;
  sizeBytes: number;
  kernelRelease: string;
  kernelPackage: string;
  /** What it was imported from, and as what format. */
  source: { disk: string; format: string };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A disk's format as qemu-img sees it; only qcow2 and raw are accepted (others could reference files we do not copy). */
async function diskFormat(qemuImg: string, path: string): Promise<'qcow2' | 'raw'> {
  let info: { format?: string; 'backing-filename'?: string };
  try {
    info = JSON.parse((await run(qemuImg, ['info', '--output', 'json', path])).stdout) as typeof info;
  } catch (e) {
    throw new Error(`${path} is not a disk image qemu-img can read: ${(e as Error).message.split('\n')[0]}`);
  }
  if (info.format !== 'qcow2' && info.format !== 'raw') throw new Error(`${path} is a ${info.format ?? 'unknown'} disk; import a qcow2 or raw disk (qemu-img convert -O qcow2 it first)`);
  if (info['backing-filename']) throw new Error(`${path} has a backing file (${info['backing-filename']}); flatten it first: qemu-img convert -O qcow2 ${path} flat.qcow2`);
  return info.format;
}

export async function importVmDisk(out: string, src: ImportedDisk): Promise<ImportedFiles> {
  const qemuImg = await findExecutable('qemu-img');
  if (!qemuImg) throw new Error('qemu-img is not installed on this node (Debian package qemu-utils)');
  for (const [what, path] of [['disk', src.disk], ['kernel', src.kernel], ['initrd', src.initrd]] as const) {
    if (path === undefined) continue;
    const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot read the ${what} ${path} on this node: ${e.code === 'ENOENT' ? 'no such file' : e.message} (the files must be on the node that imports them)`);
    });
    if (!st.isFile()) throw new Error(`the ${what} ${path} is not a regular file`);
  }
  const format = await diskFormat(qemuImg, src.disk);
  await run(qemuImg, ['convert', '-f', format, '-O', 'qcow2', src.disk, join(out, 'disk.qcow2')]);
  await copyFile(src.kernel, join(out, 'kernel'));
  if (src.initrd) await copyFile(src.initrd, join(out, 'initrd'));
  const cmdline = src.cmdline ?? 'root=/dev/vda rw';
  const files = ['kernel', ...(src.initrd ? ['initrd'] : []), 'disk.qcow2'];
  const hash = createHash('sha256').update(`cmdline ${cmdline}\n`);
  let sizeBytes = 0;
  for (const f of files) {
    hash.update(`${f} ${await sha256File(join(out, f))}\n`);
    sizeBytes += (await stat(join(out, f))).size;
  }
  return {
    kernel: 'kernel',
    ...(src.initrd ? { initrd: 'initrd' } : {}),
    cmdline,
    disk: { file: 'disk.qcow2', format: 'qcow2' },
    digest: `sha256:${hash.digest('hex')}`,
    sizeBytes,
    kernelRelease: 'unknown',
    kernelPackage: 'imported',
    source: { disk: src.disk, format },
  };
}
