// Small filesystem helpers for crash-safe writes: write under a temporary
// name, fsync, rename over the final name, fsync the directory. A reader
// therefore sees the old state or the new one, never a torn file.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export function isErrno(e: unknown, ...codes: string[]): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && codes.includes(code);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return false;
    throw e;
  }
}

/** A fresh name inside `dir` for something not yet visible. */
export function tempName(dir: string, hint: string): string {
  return join(dir, `${hint}-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export async function fsyncPath(path: string, directory = false): Promise<void> {
  const fh = await open(path, directory ? constants.O_RDONLY | constants.O_DIRECTORY : constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` atomically, staging the file in `tmpDir` (same filesystem). */
export async function atomicWrite(path: string, data: string | Uint8Array, tmpDir: string): Promise<void> {
  const tmp = tempName(tmpDir, basename(path));
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncPath(dirname(path), true);
}

export const atomicWriteJson = (path: string, value: unknown, tmpDir: string): Promise<void> =>
  atomicWrite(path, `${JSON.stringify(value, null, 2)}\n`, tmpDir);
