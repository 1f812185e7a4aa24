// A SPDY/3.1 session over any byte stream (a TLS socket after an HTTP
// Upgrade, or a WebSocket carrying SPDY as Kubernetes' tunnel does): stream
// creation and replies, DATA with half-close, RST_STREAM, PING, GOAWAY,
// SETTINGS and WINDOW_UPDATE.
//
// Flow control, both ways:
//  - receiving: each stream acknowledges what its reader consumed (stream.ts);
//    a peer that ignores the window is still bounded, by pausing the
//    transport while any stream holds more than two windows unread;
//  - sending: writes wait for the transport to drain, and, when
//    honourPeerWindow is set, for the peer's window. Kubernetes' SPDY stack
//    (moby/spdystream, in kubectl and the kubelet) speaks SPDY/3 framing
//    without 3.1's flow control: it never sends WINDOW_UPDATE, so an end that
//    serves it must not wait for one, and relies on the transport's
//    backpressure instead.
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/log.js';
import { encodeFrame, FrameReader, GOAWAY_STATUS, MAX_FRAME_PAYLOAD, RST_STATUS, SETTINGS_ID, SpdyProtocolError, type Frame } from './frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './header-block.js';
import { SpdyStream, SpdyStreamResetError } from './stream.js';

/** SPDY/3.1's initial window, per stream and for the session (section 2.6.8). */
export const DEFAULT_WINDOW = 64 * 1024;
/** DATA frames are cut at this size, so one stream cannot hold the transport for long. */
const MAX_DATA_FRAME = 32 * 1024;

export interface SpdyConnectionOptions {
  /** The client opens odd-numbered streams and pings, the server even ones. */
  role: 'client' | 'server';
  /** Wait for the peer's WINDOW_UPDATEs (default true); false for moby/spdystream peers (see above). */
  honourPeerWindow?: boolean;
  /** A stream the peer opened: reply() or refuse() it. Without a handler every stream is refused. */
  onStream?: (stream: SpdyStream) => void;
  log?: Logger;
}

export class SpdyConnection {
  /** Resolves when the connection is over, with the error that ended it, if any. */
  readonly closed: Promise<Error | undefined>;
  private settleClosed!: (e: Error | undefined) => void;
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private readonly honourPeerWindow: boolean;
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private sessionSendWindow = DEFAULT_WINDOW;
  private readonly pings = new Map<number, () => void>();
  private windowWaiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];
  private readonly overfull = new Set<SpdyStream>();
  private goingAway = false;
  private peerGoneAway = false;
  private ended = false;

  constructor(
    private readonly transport: Duplex,
    private readonly o: SpdyConnectionOptions,
  ) {
    this.honourPeerWindow = o.honourPeerWindow ?? true;
    this.nextStreamId = o.role === 'client' ? 1 : 2;
    this.nextPingId = o.role === 'client' ? 1 : 2;
    this.closed = new Promise((resolve) => (this.settleClosed = resolve));
    transport.on('data', (chunk: Buffer) => this.onBytes(chunk));
    transport.on('drain', () => this.wake('drain'));
    transport.on('end', () => this.destroy());
    transport.on('close', () => this.destroy());
    transport.on('error', (e: Error) => this.destroy(e));
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Streams open now (either side). */
  get streamCount(): number {
    return this.streams.size;
  }

  /** Open a stream (SYN_STREAM). Its `replied` resolves on the peer's SYN_REPLY; writes wait for it. fin: this end sends nothing on it. */
  openStream(headers: SpdyHeaders, o: { fin?: boolean } = {}): SpdyStream {
    if (this.ended) throw new Error('the SPDY connection is closed');
    if (this.peerGoneAway || this.goingAway) throw new Error('the SPDY connection is going away: no new streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new SpdyStream(this, id, headers, { local: true, sendWindow: this.peerInitialWindow, recvWindow: DEFAULT_WINDOW, remoteFinished: false, localFinished: Boolean(o.fin) });
    this.streams.set(id, s);
    this.writeFrame({ type: 'synStream', streamId: id, associatedId: 0, priority: 0, fin: Boolean(o.fin), unidirectional: false, headerBlock: this.compressor.compress(headers) });
    if (o.fin) s.end();
    return s;
  }

  /** PING the peer; resolves when it answers. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 2) % 0x80000000 || (this.o.role === 'client' ? 1 : 2);
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new Error('the SPDY connection is closed'));
      this.pings.set(id, resolve);
      this.writeFrame({ type: 'ping', id });
      void this.closed.then(() => {
        if (this.pings.delete(id)) reject(new Error('the SPDY connection closed before the PING was answered'));
      });
    });
  }

  /** Say GOAWAY (no new streams either way), then end the transport once the open streams are done. */
  close(): void {
    if (this.ended) return;
    this.goAway(GOAWAY_STATUS.ok);
    if (this.streams.size === 0) this.transport.end();
  }

  /** End at once: every open stream fails with err (or a reset). */
  destroy(err?: Error): void {
    if (this.ended) return;
    this.ended = true;
    for (const s of [...this.streams.values()]) s.onReset(new SpdyStreamResetError(s.id, RST_STATUS.cancel, `SPDY stream ${s.id}: the connection ended${err ? `: ${err.message}` : ''}`));
    this.streams.clear();
    this.wake('window');
    this.wake('drain');
    this.compressor.close();
    this.decompressor.close();
    if (!this.transport.destroyed) this.transport.destroy();
    this.settleClosed(err);
  }

  // ---- used by SpdyStream -------------------------------------------------

  /** @internal */
  sendReply(s: SpdyStream, headers: SpdyHeaders, fin: boolean): void {
    this.writeFrame({ type: 'synReply', streamId: s.id, fin, headerBlock: this.compressor.compress(headers) });
  }

  /** @internal */
  sendReset(streamId: number, status: number): void {
    this.writeFrame({ type: 'rstStream', streamId, status });
  }

  /** @internal What a stream's reader consumed: the stream's and the session's windows grow by it. */
  sendWindowUpdate(streamId: number, delta: number): void {
    this.writeFrame({ type: 'windowUpdate', streamId, delta });
    this.writeFrame({ type: 'windowUpdate', streamId: 0, delta });
  }

  /** @internal A stream holds more than it should (the peer ignores its window): stop reading the transport until it drains. */
  notePressure(s: SpdyStream, overfull: boolean): void {
    if (overfull) this.overfull.add(s);
    else this.overfull.delete(s);
    if (this.overfull.size > 0) this.transport.pause();
    else if (this.transport.isPaused()) this.transport.resume();
  }

  /** @internal The stream is gone: frames for it are answered with a reset from now on. */
  forget(s: SpdyStream): void {
    if (this.streams.get(s.id) === s) this.streams.delete(s.id);
    this.notePressure(s, false);
    if (this.goingAway && this.streams.size === 0 && !this.ended) this.transport.end();
  }

  /** @internal Send data on a stream in frames the windows allow; resolves once the transport took the last one. */
  async writeData(s: SpdyStream, data: Buffer, fin: boolean): Promise<void> {
    if (s.local) await s.replied;
    let off = 0;
    for (;;) {
      if (this.ended) throw new Error(`SPDY stream ${s.id}: the connection is closed`);
      if (s.destroyed) throw new Error(`SPDY stream ${s.id} was reset`);
      let n = Math.min(data.length - off, MAX_DATA_FRAME, MAX_FRAME_PAYLOAD);
      if (this.honourPeerWindow && n > 0) {
        n = Math.min(n, s.sendWindow, this.sessionSendWindow);
        if (n <= 0) {
          await this.until('window');
          continue;
        }
      }
      const piece = data.subarray(off, off + n);
      off += n;
      const last = off >= data.length;
      s.sendWindow -= n;
      this.sessionSendWindow -= n;
      const flushed = this.writeFrame({ type: 'data', streamId: s.id, fin: fin && last, data: piece });
      if (!flushed) await this.until('drain');
      if (last) return;
    }
  }

  // ---- internals -----------------------------------------------------------

  private until(what: 'window' | 'drain'): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => (what === 'window' ? this.windowWaiters : this.drainWaiters).push(resolve));
  }

  private wake(what: 'window' | 'drain'): void {
    const waiters = what === 'window' ? this.windowWaiters.splice(0) : this.drainWaiters.splice(0);
    for (const w of waiters) w();
  }

  /** Write a frame; false when the transport asks to wait for 'drain'. */
  private writeFrame(f: Frame): boolean {
    if (this.ended || this.transport.writableEnded || this.transport.destroyed) return true;
    return this.transport.write(encodeFrame(f));
  }

  private goAway(status: number): void {
    if (this.goingAway) return;
    this.goingAway = true;
    this.writeFrame({ type: 'goAway', lastGoodStreamId: this.lastPeerStreamId, status });
  }

  private onBytes(chunk: Buffer): void {
    if (this.ended) return;
    try {
      for (const f of this.reader.push(chunk)) {
        this.handle(f);
        if (this.ended) return;
      }
    } catch (e) {
      if (!(e instanceof SpdyProtocolError)) throw e;
      this.o.log?.warn('spdy protocol error', { role: this.o.role, error: e.message });
      this.goAway(GOAWAY_STATUS.protocolError);
      this.destroy(e);
    }
  }

  private peerOwns(id: number): boolean {
    return id % 2 === (this.o.role === 'server' ? 1 : 0);
  }

  private handle(f: Frame): void {
    switch (f.type) {
      case 'synStream': {
        // Always decompress first: the zlib context must see every block, even of a stream refused.
        const headers = this.decompressor.decompress(f.headerBlock);
        if (!this.peerOwns(f.streamId) || f.streamId <= this.lastPeerStreamId) return this.sendReset(f.streamId, RST_STATUS.protocolError);
        this.lastPeerStreamId = f.streamId;
        if (this.goingAway || !this.o.onStream) return this.sendReset(f.streamId, RST_STATUS.refusedStream);
        const s = new SpdyStream(this, f.streamId, headers, { local: false, sendWindow: this.peerInitialWindow, recvWindow: DEFAULT_WINDOW, remoteFinished: f.fin, localFinished: f.unidirectional });
        this.streams.set(f.streamId, s);
        return this.o.onStream(s);
      }
      case 'synReply': {
        const headers = this.decompressor.decompress(f.headerBlock);
        const s = this.streams.get(f.streamId);
        if (!s || !s.local) return this.sendReset(f.streamId, RST_STATUS.invalidStream);
        return s.onReply(headers, f.fin);
      }
      case 'headers': {
        this.decompressor.decompress(f.headerBlock);
        // Trailing headers carry nothing Kubernetes uses; only their FIN matters.
        if (f.fin) this.streams.get(f.streamId)?.onData(Buffer.alloc(0), true);
        return;
      }
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) {
          // Data for a stream already reset here races the reset: only count it against the session.
          if (f.data.length) this.writeFrame({ type: 'windowUpdate', streamId: 0, delta: f.data.length });
          return this.sendReset(f.streamId, RST_STATUS.invalidStream);
        }
        return s.onData(f.data, f.fin);
      }
      case 'rstStream':
        return this.streams.get(f.streamId)?.onReset(new SpdyStreamResetError(f.streamId, f.status));
      case 'settings':
        for (const e of f.entries) {
          if (e.id !== SETTINGS_ID.initialWindowSize) continue;
          const delta = e.value - this.peerInitialWindow;
          this.peerInitialWindow = e.value;
          for (const s of this.streams.values()) s.growSendWindow(delta);
        }
        return this.wake('window');
      case 'ping':
        // The peer's ping is echoed; ours resolve the waiter.
        if (this.peerOwns(f.id)) return void this.writeFrame(f);
        this.pings.get(f.id)?.();
        this.pings.delete(f.id);
        return;
      case 'goAway':
        this.peerGoneAway = true;
        // Streams this end opened after the peer's last good one will never be answered.
        for (const s of [...this.streams.values()]) if (s.local && s.id > f.lastGoodStreamId) s.onReset(new SpdyStreamResetError(s.id, RST_STATUS.refusedStream, `SPDY stream ${s.id} refused: the peer is going away`));
        if (this.streams.size === 0) this.transport.end();
        return;
      case 'windowUpdate':
        if (f.streamId === 0) this.sessionSendWindow += f.delta;
        else this.streams.get(f.streamId)?.growSendWindow(f.delta);
        return this.wake('window');
      case 'unknown':
        return;
    }
  }
}
