// LZ4 "legacy" frames, the format the kernel's build uses for an
// LZ4-compressed bzImage (lz4 -l): a magic, then blocks each prefixed by its
// compressed size. Node has no LZ4, and the decoder is small enough to keep
// here rather than depend on the lz4 tool at run time.

export const LZ4_LEGACY_MAGIC = 0x184c2102;

/**
 * Decodes `input` (starting at the magic). Anything after the last block
 * that cannot be a block (the kernel appends the 4-byte uncompressed size)
 * ends the stream. `expectedSize` sizes the output when known.
 */
export function decodeLz4Legacy(input: Buffer, expectedSize?: number): Buffer {
  if (input.length < 4 || input.readUInt32LE(0) !== LZ4_LEGACY_MAGIC) throw new Error('not an LZ4 legacy stream (bad magic)');
  const chunks: Buffer[] = [];
  let out = Buffer.allocUnsafe(expectedSize ?? 8 << 20);
  let op = 0;
  let ip = 4;
  while (ip + 4 <= input.length) {
    const size = input.readUInt32LE(ip);
    if (size === LZ4_LEGACY_MAGIC) {
      ip += 4; // concatenated streams
      continue;
    }
    if (size === 0 || ip + 4 + size > input.length) break; // the size trailer, or padding
    ip += 4;
    // A legacy block decodes to at most 8 MiB: make room for one more.
    if (out.length - op < 8 << 20) {
      chunks.push(out.subarray(0, op));
      out = Buffer.allocUnsafe(Math.max(8 << 20, out.length));
      op = 0;
    }
    op = decodeBlock(input, ip, ip + size, out, op);
    ip += size;
  }
  chunks.push(out.subarray(0, op));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** One LZ4 block into out[op..]; returns the new output position. */
function decodeBlock(src: Buffer, ip: number, end: number, out: Buffer, op: number): number {
  const base = op;
  while (ip < end) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        b = src[ip++]!;
        lit += b;
      } while (b === 255 && ip < end);
    }
    if (ip + lit > end || op + lit > out.length) throw new Error('corrupt LZ4 block: literals run past the end');
    src.copy(out, op, ip, ip + lit);
    ip += lit;
    op += lit;
    if (ip >= end) break; // the last sequence has literals only
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        b = src[ip++]!;
        len += b;
      } while (b === 255 && ip < end);
    }
    len += 4;
    let from = op - offset;
    if (offset === 0 || from < base) throw new Error('corrupt LZ4 block: match offset before the block start');
    if (op + len > out.length) throw new Error('corrupt LZ4 block: match runs past the output');
    if (offset >= len) {
      out.copy(out, op, from, from + len);
      op += len;
    } else {
      // Overlapping match: a repeat of the last `offset` bytes, byte by byte.
      for (let i = 0; i < len; i++) out[op++] = out[from++]!;
    }
  }
  return op;
}
