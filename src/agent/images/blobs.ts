// Blobs enter the store verified: copied (or moved, when the source is our
// own staging area) into tmp/ while hashed, checked against the digest that
// names them, then renamed into blobs/sha256/. A blob already there was
// verified when it arrived and is not read again.
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { DigestMismatchError, Hasher, sha256 } from './digest.js';
import { atomicWrite, exists, fsyncPath, tempName } from './fsutil.js';
import type { StoreLayout } from './layout.js';

export interface BlobSource {
  /** Path of the blob's bytes outside the store. */
  path: string;
  /** Expected digest; undefined = take whatever the content hashes to. */
  digest?: string;
  /** Expected size in bytes, if the descriptor gave one. */
  size?: number;
  /** What it is, for error messages. */
  what: string;
  /** The source is a staging file of ours: rename it instead of copying. */
  move?: boolean;
}

export interface StoredBlob {
  digest: string;
  size: number;
  path: string;
}

export async function ingestBlob(layout: StoreLayout, src: BlobSource): Promise<StoredBlob> {
  if (src.digest !== undefined && (await exists(layout.blob(src.digest)))) {
    return { digest: src.digest, size: (await stat(layout.blob(src.digest))).size, path: layout.blob(src.digest) };
  }
  if (!(await exists(src.path))) throw new Error(`${src.what}: blob ${src.digest ?? src.path} is missing`);
  const h = new Hasher();
  let tmp: string | undefined;
  try {
    if (src.move) {
      for await (const chunk of createReadStream(src.path)) h.update(chunk as Buffer);
    } else {
      tmp = tempName(layout.tmpDir, 'blob');
      await pipeline(
        createReadStream(src.path),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            h.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx', mode: 0o644 }),
      );
    }
    const actual = h.digest();
    if (src.digest !== undefined && actual !== src.digest) throw new DigestMismatchError(src.what, src.digest, actual);
    if (src.size !== undefined && src.size !== h.size) throw new Error(`size mismatch for ${src.what}: descriptor says ${src.size} bytes, blob has ${h.size}`);
    const from = tmp ?? src.path;
    await fsyncPath(from);
    await rename(from, layout.blob(actual));
    tmp = undefined;
    await fsyncPath(layout.blobsDir, true);
    return { digest: actual, size: h.size, path: layout.blob(actual) };
  } finally {
    if (tmp) await rm(tmp, { force: true });
  }
}

/** Stores bytes Lodge made itself (a synthesized manifest or config). */
export async function putBlob(layout: StoreLayout, data: string): Promise<StoredBlob> {
  const digest = sha256(data);
  const path = layout.blob(digest);
  if (!(await exists(path))) await atomicWrite(path, data, layout.tmpDir);
  return { digest, size: Buffer.byteLength(data), path };
}

/** Parses a stored JSON blob. */
export async function readJsonBlob(layout: StoreLayout, digest: string, what: string): Promise<unknown> {
  const text = await readFile(layout.blob(digest), 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${what} (${digest}) is not valid JSON: ${(e as Error).message}`);
  }
}
