// Credentials must never be seen half-written: a reader (kubectl, a restarted
// server) either sees the old file or the new one. Write a sibling temp file
// with the final mode already set, fsync it, then rename over the target.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the result, e.g. 0o600 for keys. Default 0o644. */
  mode?: number;
  /** Mode for missing parent directories. Default 0o700 (they hold credentials). */
  dirMode?: number;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o644;
  await mkdir(dirname(path), { recursive: true, mode: opts.dirMode ?? 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  // Creating with the final mode (not chmod afterwards) means a secret is
  // never readable by others, not even for a moment.
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // the umask may have narrowed or the caller widened it
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw new Error(`writing ${path}: ${(err as Error).message}`, { cause: err });
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`replacing ${path}: ${(err as Error).message}`, { cause: err });
  }
}
