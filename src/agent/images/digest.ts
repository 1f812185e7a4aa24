// Content addresses. Only sha256 is accepted: it is what every OCI tool
// writes, and one algorithm keeps the store's layout (blobs/sha256/…) flat.
import { createHash, type Hash } from 'node:crypto';

const SHA256 = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a `sha256:<hex>` digest; throws on anything else. */
export function digestHex(digest: string, what = 'digest'): string {
  const m = SHA256.exec(digest);
  if (!m) throw new Error(`${what} ${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex digits>)`);
  return m[1]!;
}

export function isDigest(s: string): boolean {
  return SHA256.test(s);
}

export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A running sha256 over a stream of chunks, counting bytes too. */
export class Hasher {
  readonly #hash: Hash = createHash('sha256');
  size = 0;
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.size += chunk.length;
  }
  digest(): string {
    return `sha256:${this.#hash.digest('hex')}`;
  }
}

export class DigestMismatchError extends Error {
  constructor(what: string, expected: string, actual: string) {
    super(`digest mismatch for ${what}: expected ${expected}, content is ${actual}`);
    this.name = 'DigestMismatchError';
  }
}
