// SPDY/3.1 framing (SPDY Protocol Draft 3.1, section 2.2): every frame is an
// 8-byte header and a payload of at most 2^24-1 bytes. A control frame's
// header is C=1, version (3), type, flags and length; a data frame's is C=0,
// stream id, flags and length. Header blocks travel here still compressed:
// decompressing them needs the connection's one zlib context, in frame
// order (header-block.ts, connection.ts).

export const SPDY_VERSION = 3;
const HEADER_LEN = 8;
/** The 24-bit length field's limit. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export const FRAME_TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

/** RST_STREAM status codes (section 2.6.3). */
export const RST_STATUS = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  unsupportedVersion: 4,
  cancel: 5,
  internalError: 6,
  flowControlError: 7,
  streamInUse: 8,
  streamAlreadyClosed: 9,
  frameTooLarge: 11,
} as const;

/** GOAWAY status codes (section 2.6.6). */
export const GOAWAY_STATUS = { ok: 0, protocolError: 1, internalError: 2 } as const;

/** SETTINGS ids (section 2.6.4); only the initial window size changes what this implementation does. */
export const SETTINGS_ID = { maxConcurrentStreams: 4, initialWindowSize: 7 } as const;

const ID_MASK = 0x7fffffff;

export type Frame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | { type: 'synStream'; streamId: number; associatedId: number; priority: number; fin: boolean; unidirectional: boolean; headerBlock: Buffer }
  | { type: 'synReply'; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: 'rstStream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goAway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; fin: boolean; headerBlock: Buffer }
  | { type: 'windowUpdate'; streamId: number; delta: number }
  /** A control frame type this version does not define: the spec says to ignore it. */
  | { type: 'unknown'; controlType: number };

/** The peer broke the framing: the connection cannot continue (GOAWAY PROTOCOL_ERROR). */
export class SpdyProtocolError extends Error {}

function control(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new RangeError(`SPDY control frame of ${payload.length} bytes exceeds the 24-bit length`);
  const h = Buffer.alloc(HEADER_LEN);
  h.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** The bytes of one frame. */
export function encodeFrame(f: Frame): Buffer {
  switch (f.type) {
    case 'data': {
      if (f.data.length > MAX_FRAME_PAYLOAD) throw new RangeError(`SPDY data frame of ${f.data.length} bytes exceeds the 24-bit length`);
      const h = Buffer.alloc(HEADER_LEN);
      h.writeUInt32BE(f.streamId & ID_MASK, 0);
      h.writeUInt32BE(((f.fin ? FLAG_FIN : 0) << 24) | f.data.length, 4);
      return Buffer.concat([h, f.data]);
    }
    case 'synStream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(f.streamId & ID_MASK, 0);
      fixed.writeUInt32BE(f.associatedId & ID_MASK, 4);
      fixed[8] = (f.priority & 0x7) << 5;
      fixed[9] = 0; // slot: no client certificates
      return control(FRAME_TYPE.synStream, (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0), Buffer.concat([fixed, f.headerBlock]));
    }
    case 'synReply':
      return control(FRAME_TYPE.synReply, f.fin ? FLAG_FIN : 0, Buffer.concat([u32(f.streamId & ID_MASK), f.headerBlock]));
    case 'headers':
      return control(FRAME_TYPE.headers, f.fin ? FLAG_FIN : 0, Buffer.concat([u32(f.streamId & ID_MASK), f.headerBlock]));
    case 'rstStream':
      return control(FRAME_TYPE.rstStream, 0, u32(f.streamId & ID_MASK, f.status));
    case 'settings': {
      const body = Buffer.alloc(4 + f.entries.length * 8);
      body.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        body.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
        body.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return control(FRAME_TYPE.settings, f.clear ? FLAG_SETTINGS_CLEAR : 0, body);
    }
    case 'ping':
      return control(FRAME_TYPE.ping, 0, u32(f.id));
    case 'goAway':
      return control(FRAME_TYPE.goAway, 0, u32(f.lastGoodStreamId & ID_MASK, f.status));
    case 'windowUpdate':
      return control(FRAME_TYPE.windowUpdate, 0, u32(f.streamId & ID_MASK, f.delta & ID_MASK));
    case 'unknown':
      throw new TypeError(`cannot encode a SPDY control frame of unknown type ${f.controlType}`);
  }
}

function need(p: Buffer, n: number, what: string): void {
  if (p.length < n) throw new SpdyProtocolError(`SPDY ${what} frame too short: ${p.length} bytes, at least ${n} expected`);
}

function decodeControl(type: number, flags: number, p: Buffer): Frame {
  switch (type) {
    case FRAME_TYPE.synStream:
      need(p, 10, 'SYN_STREAM');
      return {
        type: 'synStream',
        streamId: p.readUInt32BE(0) & ID_MASK,
        associatedId: p.readUInt32BE(4) & ID_MASK,
        priority: p[8]! >> 5,
        fin: (flags & FLAG_FIN) !== 0,
        unidirectional: (flags & FLAG_UNIDIRECTIONAL) !== 0,
        headerBlock: p.subarray(10),
      };
    case FRAME_TYPE.synReply:
      need(p, 4, 'SYN_REPLY');
      return { type: 'synReply', streamId: p.readUInt32BE(0) & ID_MASK, fin: (flags & FLAG_FIN) !== 0, headerBlock: p.subarray(4) };
    case FRAME_TYPE.headers:
      need(p, 4, 'HEADERS');
      return { type: 'headers', streamId: p.readUInt32BE(0) & ID_MASK, fin: (flags & FLAG_FIN) !== 0, headerBlock: p.subarray(4) };
    case FRAME_TYPE.rstStream:
      need(p, 8, 'RST_STREAM');
      return { type: 'rstStream', streamId: p.readUInt32BE(0) & ID_MASK, status: p.readUInt32BE(4) };
    case FRAME_TYPE.settings: {
      need(p, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      need(p, 4 + n * 8, 'SETTINGS');
      const entries = Array.from({ length: n }, (_, i) => {
        const idf = p.readUInt32BE(4 + i * 8);
        return { flags: idf >>> 24, id: idf & 0xffffff, value: p.readUInt32BE(8 + i * 8) };
      });
      return { type: 'settings', clear: (flags & FLAG_SETTINGS_CLEAR) !== 0, entries };
    }
    case FRAME_TYPE.ping:
      need(p, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FRAME_TYPE.goAway:
      need(p, 4, 'GOAWAY');
      // SPDY/2 peers send no status; SPDY/3 ones do.
      return { type: 'goAway', lastGoodStreamId: p.readUInt32BE(0) & ID_MASK, status: p.length >= 8 ? p.readUInt32BE(4) : GOAWAY_STATUS.ok };
    case FRAME_TYPE.windowUpdate:
      need(p, 8, 'WINDOW_UPDATE');
      return { type: 'windowUpdate', streamId: p.readUInt32BE(0) & ID_MASK, delta: p.readUInt32BE(4) & ID_MASK };
    default:
      return { type: 'unknown', controlType: type };
  }
}

/**
 * Cuts a byte stream into frames. Bytes are kept as the chunks they came in
 * until a whole frame is there, so a large frame arriving in many pieces is
 * copied once, not once per piece.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private length = 0;

  /** Add bytes; returns the frames they complete (throws SpdyProtocolError on a malformed one). */
  push(chunk: Buffer): Frame[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    const out: Frame[] = [];
    while (this.length >= HEADER_LEN) {
      const head = this.peek(HEADER_LEN);
      const payloadLen = head.readUInt32BE(4) & 0xffffff;
      if (this.length < HEADER_LEN + payloadLen) break;
      const whole = this.take(HEADER_LEN + payloadLen);
      out.push(decode(whole));
    }
    return out;
  }

  /** Bytes received that do not yet make a whole frame. */
  get pending(): number {
    return this.length;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return all.subarray(0, n);
  }
}

function decode(b: Buffer): Frame {
  const flags = b[4]!;
  const payload = b.subarray(HEADER_LEN);
  if ((b[0]! & 0x80) === 0) return { type: 'data', streamId: b.readUInt32BE(0) & ID_MASK, fin: (flags & FLAG_FIN) !== 0, data: payload };
  const version = b.readUInt16BE(0) & 0x7fff;
  if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version} (this end speaks ${SPDY_VERSION})`);
  return decodeControl(b.readUInt16BE(2), flags, payload);
}
