// One SPDY stream as a Node Duplex: what is written goes out as DATA frames,
// end() sends FIN (a half-close: the peer may still send), and what the peer
// sends is read. The connection (connection.ts) owns the frames; the stream
// keeps its own state: whether each side has finished, how much the peer may
// still send, and what the reader has consumed, which is what is
// acknowledged with WINDOW_UPDATE, so a slow reader slows a peer that
// honours flow control instead of growing a buffer.
import { Duplex } from 'node:stream';
import type { SpdyConnection } from './connection.js';
import type { SpdyHeaders } from './header-block.js';
import { RST_STATUS } from './frames.js';

/** The peer reset the stream (RST_STREAM), or the connection went away under it. */
export class SpdyStreamResetError extends Error {
  constructor(
    readonly streamId: number,
    readonly status: number,
    message = `SPDY stream ${streamId} was reset by the peer (status ${status})`,
  ) {
    super(message);
  }
}

export interface SpdyStreamInit {
  /** Opened by this end (we sent SYN_STREAM and wait for SYN_REPLY). */
  local: boolean;
  sendWindow: number;
  recvWindow: number;
  remoteFinished: boolean;
  localFinished: boolean;
}

const EMPTY = Buffer.alloc(0);

export class SpdyStream extends Duplex {
  /** The peer's window for this stream: bytes this end may still send. */
  sendWindow: number;
  readonly local: boolean;
  /** Resolves with the peer's SYN_REPLY headers (streams this end opened; at once for the peer's). */
  readonly replied: Promise<SpdyHeaders>;
  replyHeaders: SpdyHeaders | undefined;
  private settleReply!: { resolve: (h: SpdyHeaders) => void; reject: (e: Error) => void };
  private remoteFinished: boolean;
  private localFinished: boolean;
  private resetByPeer = false;
  private received = 0;
  private acknowledged = 0;
  private readonly recvWindow: number;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
    init: SpdyStreamInit,
  ) {
    // The read buffer holds one window: a peer that honours flow control never fills more.
    super({ readableHighWaterMark: init.recvWindow, allowHalfOpen: true });
    this.local = init.local;
    this.sendWindow = init.sendWindow;
    this.recvWindow = init.recvWindow;
    this.remoteFinished = init.remoteFinished;
    this.localFinished = init.localFinished;
    this.replied = new Promise<SpdyHeaders>((resolve, reject) => (this.settleReply = { resolve, reject }));
    this.replied.catch(() => undefined); // observed by writes and by whoever awaits it
    if (!init.local) this.settleReply.resolve({});
    if (init.remoteFinished) this.push(null);
  }

  /** Accept a stream the peer opened (SYN_REPLY). fin: this end will send nothing on it. */
  reply(headers: SpdyHeaders = {}, fin = false): void {
    this.conn.sendReply(this, headers, fin);
    if (fin) {
      this.localFinished = true;
      this.end();
    }
  }

  /** Turn down a stream the peer opened (RST_STREAM REFUSED_STREAM). */
  refuse(): void {
    this.reset(RST_STATUS.refusedStream);
  }

  /** Abort the stream both ways (RST_STREAM, CANCEL unless said otherwise). */
  reset(status: number = RST_STATUS.cancel): void {
    if (!this.destroyed && !(this.remoteFinished && this.localFinished)) this.conn.sendReset(this.id, status);
    this.localFinished = this.remoteFinished = true;
    this.destroy();
  }

  get isRemoteFinished(): boolean {
    return this.remoteFinished;
  }

  /** @internal SYN_REPLY arrived for a stream this end opened. */
  onReply(headers: SpdyHeaders, fin: boolean): void {
    this.replyHeaders = headers;
    this.settleReply.resolve(headers);
    if (fin) this.onData(EMPTY, true);
  }

  /** @internal DATA arrived. */
  onData(data: Buffer, fin: boolean): void {
    if (this.remoteFinished) {
      this.conn.sendReset(this.id, RST_STATUS.streamAlreadyClosed);
      return;
    }
    if (data.length) {
      this.received += data.length;
      this.push(data);
    }
    if (fin) {
      this.remoteFinished = true;
      this.push(null);
    }
    this.conn.notePressure(this, this.readableLength > 2 * this.recvWindow);
    this.acknowledge();
  }

  /** @internal RST_STREAM arrived, or the connection ended. */
  onReset(err: SpdyStreamResetError): void {
    this.resetByPeer = true;
    this.remoteFinished = this.localFinished = true;
    this.settleReply.reject(err);
    this.destroy(err);
  }

  /** @internal The peer's window grew (WINDOW_UPDATE or SETTINGS). */
  growSendWindow(delta: number): void {
    this.sendWindow += delta;
  }

  /** Tell the peer what the reader has taken, once it is worth a frame (a quarter window), or all of it when the reader is idle. */
  private acknowledge(): void {
    if (this.remoteFinished || this.destroyed) return;
    const consumed = this.received - this.readableLength;
    const owed = consumed - this.acknowledged;
    if (owed <= 0) return;
    if (owed < this.recvWindow / 4 && this.readableLength > 0) return;
    this.acknowledged = consumed;
    this.conn.sendWindowUpdate(this.id, owed);
  }

  // Consumption is seen here, after the buffer gave the reader its bytes: _read is no hook for it, as
  // Node calls it before taking them, and not again until the next push (which waits for this update).
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    if (this.readableLength <= 2 * this.recvWindow) this.conn.notePressure(this, false);
    this.acknowledge();
    return chunk;
  }

  override _read(): void {
    // Data arrives when the peer sends it; what is read is acknowledged in read().
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localFinished) return cb(new Error(`SPDY stream ${this.id}: write after this end finished`));
    this.conn.writeData(this, chunk, false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.localFinished) return cb();
    this.conn.writeData(this, EMPTY, true).then(() => {
      this.localFinished = true;
      cb();
    }, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Gone before both sides finished, and not because the peer said so: tell the peer.
    if (!this.resetByPeer && !(this.remoteFinished && this.localFinished)) this.conn.sendReset(this.id, RST_STATUS.cancel);
    this.settleReply.reject(err ?? new SpdyStreamResetError(this.id, RST_STATUS.cancel, `SPDY stream ${this.id} closed before a reply`));
    this.conn.forget(this);
    cb(err);
  }
}
