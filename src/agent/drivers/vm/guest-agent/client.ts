// A client for QEMU's guest agent protocol (QGA), spoken by qemu-ga inside
// the guest over a virtio-serial port that QEMU exposes here as a unix
// socket. Unlike QMP there is no greeting and no reply ids: the socket is a
// byte pipe to whatever the guest agent is doing, which may still hold
// answers for a client that went away, or not run yet at all (the guest is
// booting). So a session starts with guest-sync-delimited: the agent answers
// a 0xFF byte and then {"return": id}, and everything before the answer to
// our latest id is someone else's. While nobody answers, the sync is sent
// again (the guest reads what queued up once its agent opens the port) until
// the deadline. After that, commands go one at a time and replies come in
// order, one JSON object per line.
import { connect, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';

/** The guest agent answered a command with an error (its own class and text). */
export class GuestAgentError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`guest agent ${command}: ${desc}`);
  }
}

/** Nothing answered the sync within the deadline: the guest is still booting, paused, or carries no agent. */
export class GuestAgentUnavailableError extends Error {
  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
    readonly why: string,
  ) {
    super(`the guest agent is not answering (is the guest booted?): ${why}`);
  }
}

/** The connection ended, or a command got no reply in time (after which the stream cannot be trusted). */
export class GuestAgentClosedError extends Error {}

export interface GuestAgentConnectOptions {
  /** How long to wait for the agent to answer the sync (it may still be starting). */
  timeoutMs: number;
  /** Send the sync again this often while nobody answers (default 1 s). */
  resyncMs?: number;
}

/** 0xFF: what qemu-ga sends before a guest-sync-delimited reply, and what resets its JSON parser when sent to it. */
const SENTINEL = 0xff;
const NEWLINE = 0x0a;
/** A reply beyond this means a confused stream, not a result: base64 of the 16 MiB qemu-ga captures per stream, twice, plus slack. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

type Reply = { return?: unknown; error?: { class?: string; desc?: string } };

export class GuestAgentClient {
  private buf: Buffer = Buffer.alloc(0);
  /** Set once our sync was answered; until then every byte is stale or the sync's reply. */
  private synced = false;
  private syncId = 0;
  private onSynced: (() => void) | undefined;
  /** Fails a sync in progress when the connection ends. */
  private closeHook: ((e: Error) => void) | undefined;
  private readonly queue: Array<{ line: string; pending: Pending; timeoutMs?: number }> = [];
  private inFlight: Pending | undefined;
  private closedWith: Error | undefined;

  private constructor(
    private readonly sock: Socket,
    readonly socketPath: string,
  ) {
    sock.on('data', (chunk: Buffer) => this.handleData(chunk));
    // An error is always followed by 'close', where pending calls are failed.
    sock.on('error', (e) => (this.closedWith ??= new GuestAgentClosedError(`guest agent connection ${socketPath}: ${e.message}`)));
    sock.on('close', () => this.fail(this.closedWith ?? new GuestAgentClosedError(`guest agent connection ${socketPath} closed`)));
  }

  /**
   * Connect and synchronise. The socket is QEMU's (it exists while QEMU
   * runs), so a connect error means QEMU is gone; a silence means the guest
   * side is not there yet, and ends in GuestAgentUnavailableError.
   */
  static async connect(socketPath: string, opts: GuestAgentConnectOptions): Promise<GuestAgentClient> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect(socketPath);
      s.once('error', (e) => {
        s.destroy();
        reject(new GuestAgentClosedError(`cannot connect to the guest agent socket ${socketPath}: ${e.message}`));
      });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
    });
    const client = new GuestAgentClient(sock, socketPath);
    try {
      await client.sync(opts.timeoutMs, opts.resyncMs ?? 1000);
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  private sync(timeoutMs: number, resyncMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = setTimeout(() => {
        clearInterval(timer);
        this.onSynced = undefined;
        // QEMU accepts one client per chardev socket; a second one sits in the backlog, unheard.
        reject(new GuestAgentUnavailableError(this.socketPath, timeoutMs, `no answer to guest-sync-delimited within ${timeoutMs} ms (or another client holds ${this.socketPath})`));
      }, timeoutMs);
      const send = (): void => {
        this.syncId = randomInt(1, 2 ** 31 - 1);
        // The leading 0xFF makes the agent drop whatever partial command a previous client left.
        this.sock.write(Buffer.concat([Buffer.from([SENTINEL]), Buffer.from(`${JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id: this.syncId } })}\n`)]));
      };
      this.onSynced = () => {
        clearTimeout(deadline);
        clearInterval(timer);
        resolve();
      };
      this.closeHook = (e) => {
        clearTimeout(deadline);
        clearInterval(timer);
        reject(e);
      };
      send();
      timer = setInterval(send, resyncMs);
    });
  }

  /** Run one command; commands on a client are sent one at a time, in call order. */
  execute<T>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const line = `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`;
      this.queue.push({ line, pending: { command, resolve: resolve as (v: unknown) => void, reject }, timeoutMs: opts.timeoutMs });
      this.pump();
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  close(): void {
    this.closedWith ??= new GuestAgentClosedError(`guest agent connection ${this.socketPath} closed`);
    this.sock.destroy();
  }

  private pump(): void {
    if (!this.synced || this.inFlight || this.closedWith) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next.pending;
    if (next.timeoutMs !== undefined) {
      next.pending.timer = setTimeout(() => {
        // A late reply would be taken for the next command's: this connection is done.
        this.closedWith = new GuestAgentClosedError(`guest agent ${next.pending.command}: no reply within ${next.timeoutMs} ms`);
        this.sock.destroy();
      }, next.timeoutMs);
    }
    this.sock.write(next.line);
  }

  private handleData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.synced) {
        // Only what follows a sentinel can be the sync's reply.
        const s = this.buf.indexOf(SENTINEL);
        if (s < 0) {
          this.buf = Buffer.alloc(0);
          return;
        }
        const nl = this.buf.indexOf(NEWLINE, s);
        if (nl < 0) break;
        const reply = parseReply(this.buf.toString('utf8', s + 1, nl));
        this.buf = this.buf.subarray(nl + 1);
        // An older sync's reply (ours or a previous client's): keep waiting for the latest.
        if (reply?.return === this.syncId) {
          this.synced = true;
          this.onSynced?.();
          this.onSynced = undefined;
          this.closeHook = undefined;
          this.pump();
        }
        continue;
      }
      const nl = this.buf.indexOf(NEWLINE);
      if (nl < 0) break;
      let text = this.buf.toString('utf8', 0, nl);
      this.buf = this.buf.subarray(nl + 1);
      if (text.charCodeAt(0) === 0xfffd) text = text.slice(1); // a stray sentinel decoded as U+FFFD
      if (!text.trim()) continue;
      this.handleReply(text);
    }
    if (this.buf.length > MAX_LINE_BYTES) {
      this.closedWith = new GuestAgentClosedError(`guest agent ${this.socketPath}: a reply longer than ${MAX_LINE_BYTES} bytes`);
      this.sock.destroy();
    }
  }

  private handleReply(text: string): void {
    const p = this.inFlight;
    const reply = parseReply(text);
    if (!p) return; // nothing asked: not ours
    this.inFlight = undefined;
    clearTimeout(p.timer);
    if (!reply) p.reject(new GuestAgentError(p.command, 'ProtocolError', `unreadable reply ${JSON.stringify(text.slice(0, 200))}`));
    else if (reply.error) p.reject(new GuestAgentError(p.command, reply.error.class ?? 'GenericError', reply.error.desc ?? JSON.stringify(reply.error)));
    else p.resolve(reply.return);
    this.pump();
  }

  private fail(e: Error): void {
    this.closedWith ??= e;
    this.closeHook?.(this.closedWith);
    this.closeHook = undefined;
    const p = this.inFlight;
    this.inFlight = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(this.closedWith);
    }
    for (const q of this.queue.splice(0)) q.pending.reject(this.closedWith);
  }
}

function parseReply(text: string): Reply | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' ? (v as Reply) : undefined;
  } catch {
    return undefined;
  }
}
