// The uncompressed kernel (vmlinux) from a compressed bzImage (vmlinuz), as
// the kernel's scripts/extract-vmlinux does it: find the compressed payload,
// decompress it, keep the result when it is an ELF. QEMU boots an ELF vmlinux
// through its PVH entry directly, skipping the bzImage's own decompressor,
// which under TCG costs seconds.
import { gunzipSync } from 'node:zlib';
import { isElf64 } from './elf.js';
import { decodeLz4Legacy } from './lz4-legacy.js';
import { runCmd } from '../run.js';

type Codec = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'bzip2' | 'lzma';

const MAGICS: Array<{ codec: Codec; magic: Buffer }> = [
  { codec: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]) },
  { codec: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { codec: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { codec: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]) },
  { codec: 'bzip2', magic: Buffer.from('BZh') },
  { codec: 'lzma', magic: Buffer.from([0x5d, 0x00, 0x00, 0x00]) },
];

export interface ExtractedKernel {
  vmlinux: Buffer;
  codec: Codec;
}

/** Decompresses the kernel inside `bzImage`; throws when no payload decompresses to an ELF. */
export async function extractVmlinux(bzImage: Buffer): Promise<ExtractedKernel> {
  const payload = bootPayload(bzImage);
  if (payload) {
    const codec = MAGICS.find((m) => payload.subarray(0, m.magic.length).equals(m.magic))?.codec;
    if (!codec) throw new Error(`bzImage payload starts with unknown bytes ${payload.subarray(0, 6).toString('hex')}`);
    const vmlinux = await decompress(codec, payload);
    if (!isElf64(vmlinux)) throw new Error(`the ${codec} payload of the bzImage did not decompress to an ELF`);
    return { vmlinux, codec };
  }
  // No usable boot header (very old or unusual image): try each magic where it occurs, as extract-vmlinux does.
  for (const { codec, magic } of MAGICS) {
    for (let at = bzImage.indexOf(magic); at >= 0; at = bzImage.indexOf(magic, at + 1)) {
      const vmlinux = await decompress(codec, bzImage.subarray(at)).catch(() => undefined);
      if (vmlinux && isElf64(vmlinux)) return { vmlinux, codec };
    }
  }
  throw new Error('no compressed kernel found in the bzImage (tried gzip, xz, zstd, lz4, bzip2, lzma)');
}

/** The compressed payload as the x86 boot protocol (>= 2.08) locates it: exact bounds, no scanning. */
function bootPayload(img: Buffer): Buffer | undefined {
  if (img.length < 0x250 || img.toString('latin1', 0x202, 0x206) !== 'HdrS' || img.readUInt16LE(0x206) < 0x208) return undefined;
  const setupSects = img[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + img.readUInt32LE(0x248);
  const end = start + img.readUInt32LE(0x24c);
  return end <= img.length ? img.subarray(start, end) : undefined;
}

async function decompress(codec: Codec, data: Buffer): Promise<Buffer> {
  // Every kernel compressor but gzip is followed by the 4-byte uncompressed
  // size (the kernel's size_append): a hint for LZ4, and trailing bytes the
  // external tools would reject.
  const size = data.length >= 4 ? data.readUInt32LE(data.length - 4) : 0;
  switch (codec) {
    case 'gzip':
      return gunzipSync(data);
    case 'lz4':
      return decodeLz4Legacy(data, size > 0 && size < 1 << 30 ? size : undefined);
    case 'xz':
      return pipeThrough('xz', ['-dc', '--single-stream'], data);
    case 'lzma':
      return pipeThrough('xz', ['-dc', '--format=lzma'], data.subarray(0, data.length - 4));
    case 'zstd':
      return pipeThrough('zstd', ['-dcq'], data.subarray(0, data.length - 4));
    case 'bzip2':
      return pipeThrough('bzip2', ['-dc'], data);
  }
}

/** Runs a decompressor on `input`; trailing-garbage complaints are fine when an ELF came out. */
function pipeThrough(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  return runCmd(cmd, args, { input, acceptOutput: isElf64 }).catch((e: Error) => {
    throw new Error(`decompressing the kernel: ${e.message}`);
  });
}
