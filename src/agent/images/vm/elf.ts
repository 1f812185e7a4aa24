// Just enough ELF64 (little-endian, x86_64) reading for the VM images: the
// notes of a vmlinux (does it carry a PVH entry?) and the .modinfo section of
// a kernel module (what does it depend on?). No dependency on binutils.

const ELF_MAGIC = 0x7f454c46;

export function isElf64(buf: Buffer): boolean {
  return buf.length >= 64 && buf.readUInt32BE(0) === ELF_MAGIC && buf[4] === 2 && buf[5] === 1;
}

function requireElf64(buf: Buffer, what: string): void {
  if (!isElf64(buf)) throw new Error(`${what} is not a little-endian ELF64 file`);
}

export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
}

/** Every note in the file's PT_NOTE segments. */
export function elfNotes(buf: Buffer, what = 'file'): ElfNote[] {
  requireElf64(buf, what);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const PT_NOTE = 4;
  const notes: ElfNote[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (buf.readUInt32LE(ph) !== PT_NOTE) continue;
    const off = Number(buf.readBigUInt64LE(ph + 8));
    const end = off + Number(buf.readBigUInt64LE(ph + 32));
    for (let p = off; p + 12 <= end; ) {
      const namesz = buf.readUInt32LE(p);
      const descsz = buf.readUInt32LE(p + 4);
      const type = buf.readUInt32LE(p + 8);
      const nameAt = p + 12;
      const descAt = nameAt + align4(namesz);
      notes.push({ name: buf.toString('latin1', nameAt, nameAt + Math.max(0, namesz - 1)), type, desc: buf.subarray(descAt, descAt + descsz) });
      p = descAt + align4(descsz);
    }
  }
  return notes;
}

const align4 = (n: number): number => (n + 3) & ~3;

/** XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point QEMU's -kernel uses to boot an ELF vmlinux directly. */
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

export function hasPvhEntry(buf: Buffer): boolean {
  return isElf64(buf) && elfNotes(buf).some((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
}

/** The bytes of the named section, or undefined when the file has none. */
export function elfSection(buf: Buffer, name: string, what = 'file'): Buffer | undefined {
  requireElf64(buf, what);
  const shoff = Number(buf.readBigUInt64LE(40));
  const shentsize = buf.readUInt16LE(58);
  const shnum = buf.readUInt16LE(60);
  const shstrndx = buf.readUInt16LE(62);
  const header = (i: number): { name: number; offset: number; size: number } => {
    const h = shoff + i * shentsize;
    return { name: buf.readUInt32LE(h), offset: Number(buf.readBigUInt64LE(h + 24)), size: Number(buf.readBigUInt64LE(h + 32)) };
  };
  const strtab = header(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const start = strtab.offset + h.name;
    const nul = buf.indexOf(0, start);
    if (buf.toString('latin1', start, nul) === name) return buf.subarray(h.offset, h.offset + h.size);
  }
  return undefined;
}

const SHT_DYNAMIC = 6;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const PT_INTERP = 3;

/** A dynamically linked executable's or library's DT_NEEDED sonames and, for an executable, its PT_INTERP (the dynamic loader's path). */
export function elfDynamic(buf: Buffer, what = 'file'): { needed: string[]; interp?: string } {
  requireElf64(buf, what);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  let interp: string | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (buf.readUInt32LE(ph) !== PT_INTERP) continue;
    const off = Number(buf.readBigUInt64LE(ph + 8));
    const size = Number(buf.readBigUInt64LE(ph + 32));
    interp = buf.toString('latin1', off, off + size).replace(/\0+$/, '');
  }
  const shoff = Number(buf.readBigUInt64LE(40));
  const shentsize = buf.readUInt16LE(58);
  const shnum = buf.readUInt16LE(60);
  const section = (i: number): { type: number; offset: number; size: number; link: number } => {
    const h = shoff + i * shentsize;
    return { type: buf.readUInt32LE(h + 4), offset: Number(buf.readBigUInt64LE(h + 24)), size: Number(buf.readBigUInt64LE(h + 32)), link: buf.readUInt32LE(h + 40) };
  };
  const needed: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const dyn = section(i);
    if (dyn.type !== SHT_DYNAMIC) continue;
    // The dynamic section's sh_link is its string table (.dynstr).
    const strtab = section(dyn.link);
    for (let p = dyn.offset; p + 16 <= dyn.offset + dyn.size; p += 16) {
      const tag = buf.readBigInt64LE(p);
      if (tag === DT_NULL) break;
      if (tag !== DT_NEEDED) continue;
      const at = strtab.offset + Number(buf.readBigUInt64LE(p + 8));
      needed.push(buf.toString('latin1', at, buf.indexOf(0, at)));
    }
  }
  return { needed, ...(interp ? { interp } : {}) };
}
