// The protobuf wire format, read-only: just enough to walk Kubernetes'
// messages (varints, length-delimited fields, fixed 32/64-bit numbers).
// Every read is bounds-checked; a malformed body throws ProtobufError.

export class ProtobufError extends Error {}

/** Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3 and 4, groups, are not used by Kubernetes). */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export interface Field {
  num: number;
  wire: number;
}

export class WireReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, private readonly end = buf.length) {}

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a bigint: int64 and uint64 values may exceed 2^53. */
  varint(): bigint {
    // Fast path in plain numbers for the first 28 bits: nearly every varint
    // (lengths, tags, small counts) fits, and bigint arithmetic is slower.
    let lo = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return BigInt(lo >>> 0);
    }
    let v = BigInt(lo >>> 0);
    for (let shift = 28n; shift < 70n; shift += 7n) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        if (shift === 63n && b > 1) throw new ProtobufError('varint overflows 64 bits');
        return v;
      }
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** A varint that must fit a JavaScript number (tags, lengths). */
  smallVarint(what: string): number {
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtobufError(`${what} too large`);
    return Number(v);
  }

  fixed32(): Uint8Array {
    return this.take(4);
  }

  fixed64(): Uint8Array {
    return this.take(8);
  }

  /** The bytes of a length-delimited value (a view, not a copy). */
  bytes(): Uint8Array {
    const n = this.smallVarint('length');
    return this.take(n);
  }

  private take(n: number): Uint8Array {
    if (n > this.end - this.pos) throw new ProtobufError(`field of ${n} bytes runs past the end of its message`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next field's tag; the caller then reads or skips its value. */
  tag(): Field {
    const t = this.smallVarint('tag');
    const num = Math.floor(t / 8);
    const wire = t & 7;
    if (num < 1 || num > 0x1fffffff) throw new ProtobufError(`invalid field number ${num}`);
    if (wire === 3 || wire === 4) throw new ProtobufError(`field ${num} uses protobuf groups, which Kubernetes never writes`);
    if (wire > 5) throw new ProtobufError(`field ${num} has invalid wire type ${wire}`);
    return { num, wire };
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.take(8);
    else if (wire === LEN) this.bytes();
    else if (wire === FIXED32) this.take(4);
    else throw new ProtobufError(`cannot skip wire type ${wire}`);
  }
}

export const int64 = (v: bigint): bigint => BigInt.asIntN(64, v);

const utf8 = new TextDecoder('utf-8', { fatal: true });
export function utf8String(b: Uint8Array, where: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new ProtobufError(`${where}: string is not valid UTF-8`);
  }
}
