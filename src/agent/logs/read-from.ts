// Following a growing log file: what was appended since the last read.
import { open } from 'node:fs/promises';

/** Bytes of a file from pos to its current end; undefined when the file is gone. */
export async function readFrom(file: string, pos: number): Promise<Buffer | undefined> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const { size } = await fh.stat();
    if (size <= pos) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - pos);
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
