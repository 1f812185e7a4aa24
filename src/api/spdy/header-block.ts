// SPDY/3 name/value header blocks (section 2.6.10): a 32-bit count, then each
// name and value behind its 32-bit length (several values of one name joined
// by NUL), the whole zlib-compressed with the SPDY dictionary. Each direction
// of a connection is ONE zlib stream: every block is compressed after, and
// with the history of, the blocks before it, and ends with a sync flush so
// the peer can decompress it at once.
//
// minizlib (Node's zlib binding, driven synchronously) rather than node:zlib's
// streams: those only flush asynchronously, and a block must be (de)compressed
// in frame order, before the next frame is written or read.
import { Deflate, Inflate, constants } from 'minizlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './frames.js';

/** Header names are lower case on the wire; a value holding NULs is several values. */
export type SpdyHeaders = Record<string, string>;

/** A decompressed block larger than this is refused: the peer is not sending Kubernetes' few headers. */
const MAX_BLOCK_BYTES = 256 * 1024;

export function encodeNameValues(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeNameValues(b: Buffer): SpdyHeaders {
  let at = 0;
  const read = (what: string): Buffer => {
    if (at + 4 > b.length) throw new SpdyProtocolError(`SPDY header block truncated at ${what}`);
    const len = b.readUInt32BE(at);
    at += 4;
    if (at + len > b.length) throw new SpdyProtocolError(`SPDY header block truncated in ${what} (${len} bytes announced)`);
    const out = b.subarray(at, at + len);
    at += len;
    return out;
  };
  if (b.length < 4) throw new SpdyProtocolError('SPDY header block has no count');
  const count = b.readUInt32BE(0);
  at = 4;
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = read('a name').toString('utf8');
    const value = read(`the value of ${JSON.stringify(name)}`).toString('utf8');
    if (!name) throw new SpdyProtocolError('SPDY header block has an empty name');
    // Kubernetes' peers (Go's http.Header) may repeat a name: keep every value, as a NUL-joined list.
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}\0${value}` : value;
  }
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Collects what a minizlib stream emits during one synchronous write. */
function drain(z: Deflate | Inflate, input: Buffer, limit: number): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  let failure: Error | undefined;
  const onData = (c: Buffer): void => {
    size += c.length;
    out.push(c);
  };
  const onError = (e: unknown): void => {
    failure = e instanceof Error ? e : new Error(String(e));
  };
  z.on('data', onData);
  z.on('error', onError);
  try {
    z.write(input);
  } finally {
    z.off('data', onData);
    z.off('error', onError);
  }
  if (failure) throw new SpdyProtocolError(`SPDY header block: ${failure.message}`);
  if (size > limit) throw new SpdyProtocolError(`SPDY header block decompresses to more than ${limit} bytes`);
  return Buffer.concat(out, size);
}

/** The sending direction's context. */
export class HeaderCompressor {
  // minizlib's option type leaves out `dictionary`; it hands every option to node:zlib, which takes it.
  private readonly z = new Deflate({ dictionary: SPDY3_DICTIONARY, level: constants.Z_DEFAULT_COMPRESSION, flush: constants.Z_SYNC_FLUSH } as ConstructorParameters<typeof Deflate>[0]);

  compress(headers: SpdyHeaders): Buffer {
    return drain(this.z, encodeNameValues(headers), Number.POSITIVE_INFINITY);
  }

  close(): void {
    this.z.close();
  }
}

/** The receiving direction's context. Every block the peer sends must pass through it, wanted or not, to keep it in step. */
export class HeaderDecompressor {
  // The dictionary is given when the stream asks for it (its header names one, FDICT).
  private readonly z = new Inflate({ dictionary: SPDY3_DICTIONARY, flush: constants.Z_SYNC_FLUSH } as ConstructorParameters<typeof Inflate>[0]);

  decompress(block: Buffer): SpdyHeaders {
    if (!block.length) throw new SpdyProtocolError('SPDY frame has an empty header block');
    return decodeNameValues(drain(this.z, block, MAX_BLOCK_BYTES));
  }

  close(): void {
    this.z.close();
  }
}
