// A small QMP client. One connection per use: the driver keeps no state in
// memory, so it connects, asks, and closes. Replies are matched by id, not
// by order, because QEMU may emit an event caused by a command (STOP after
// `stop`, POWERDOWN after `system_powerdown`) before that command's reply.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connectUnix } from './connect.js';
import { QmpClosedError, QmpConnectError, QmpError, QmpTimeoutError } from './errors.js';
import { LineSplitter, classify, type QmpEvent, type QmpGreeting } from './protocol.js';

export interface QmpConnectOptions {
  /** How long to wait for the socket to appear and the greeting to arrive (default 10 s). */
  timeoutMs?: number;
}

export interface ExecuteOptions {
  /** Give up waiting for the reply after this long (the command may still take effect). Default: wait for ever (or until the connection closes). */
  timeoutMs?: number;
}

export interface WaitForEventOptions {
  timeoutMs: number;
  /** Only an event for which this holds resolves the wait (e.g. a given device). */
  predicate?: (e: QmpEvent) => boolean;
}

interface Pending {
  command: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

interface ClientEvents {
  event: [QmpEvent];
  close: [];
}

export class QmpClient {
  private readonly emitter = new EventEmitter<ClientEvents>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private isClosed = false;
  private onGreeting: ((g: QmpGreeting) => void) | undefined;
  private protocolError: Error | undefined;
  greeting: QmpGreeting | undefined;

  private constructor(
    private readonly sock: Socket,
    readonly socketPath: string,
  ) {
    const lines = new LineSplitter();
    sock.on('data', (chunk: Buffer) => {
      for (const line of lines.push(chunk)) this.handle(line);
    });
    // An error is always followed by 'close', where pending calls are failed.
    sock.on('error', () => undefined);
    sock.on('close', () => this.handleClose());
  }

  /** Connect (retrying until the socket exists), read the greeting and leave capabilities negotiation mode. */
  static async connect(socketPath: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    const sock = await connectUnix(socketPath, timeoutMs);
    const client = new QmpClient(sock, socketPath);
    try {
      client.greeting = await client.readGreeting(Math.max(1, deadline - Date.now()));
      await client.execute('qmp_capabilities', undefined, { timeoutMs: Math.max(1, deadline - Date.now()) });
      return client;
    } catch (e) {
      client.close();
      if (e instanceof QmpTimeoutError) throw new QmpConnectError(socketPath, `no greeting within ${timeoutMs} ms (QEMU serves one QMP client at a time: is another connected?)`);
      throw e;
    }
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Run a command; resolves with its `return` value, rejects with QmpError (QEMU refused), QmpClosedError or QmpTimeoutError. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: ExecuteOptions = {}): Promise<T> {
    if (this.isClosed) return Promise.reject(new QmpClosedError(this.socketPath, command));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        command,
        resolve: (v) => {
          done();
          resolve(v as T);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      if (opts.timeoutMs !== undefined) timer = setTimeout(() => this.pending.get(id)?.reject(new QmpTimeoutError(`reply to ${command}`, opts.timeoutMs as number)), opts.timeoutMs);
      this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args, id } : { execute: command, id })}\n`);
    });
  }

  /** Subscribe to every event; returns the unsubscribe function. */
  onEvent(listener: (e: QmpEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  onClose(listener: () => void): () => void {
    if (this.isClosed) {
      queueMicrotask(listener);
      return () => undefined;
    }
    this.emitter.on('close', listener);
    return () => this.emitter.off('close', listener);
  }

  /**
   * The next event named `name` (or any of `name`s) matching the predicate.
   * Call it before executing the command that causes the event: the event
   * may arrive before the command's reply. Rejects with QmpTimeoutError, or
   * QmpClosedError if the connection ends first.
   */
  waitForEvent(name: string | string[], opts: WaitForEventOptions): Promise<QmpEvent> {
    const names = Array.isArray(name) ? name : [name];
    const what = `${names.join('/')} event`;
    if (this.isClosed) return Promise.reject(new QmpClosedError(this.socketPath, `wait for ${what}`));
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        offEvent();
        offClose();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new QmpTimeoutError(what, opts.timeoutMs));
      }, opts.timeoutMs);
      const offEvent = this.onEvent((e) => {
        if (!names.includes(e.event) || (opts.predicate && !opts.predicate(e))) return;
        finish();
        resolve(e);
      });
      const offClose = this.onClose(() => {
        finish();
        reject(this.protocolError ?? new QmpClosedError(this.socketPath, `wait for ${what}`));
      });
    });
  }

  /** Close the connection; pending calls fail with QmpClosedError. Safe to call twice. */
  close(): void {
    this.sock.destroy();
  }

  private readGreeting(timeoutMs: number): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onGreeting = undefined;
        reject(new QmpTimeoutError('greeting', timeoutMs));
      }, timeoutMs);
      const offClose = this.onClose(() => {
        clearTimeout(timer);
        reject(this.protocolError ?? new QmpClosedError(this.socketPath, 'greeting'));
      });
      this.onGreeting = (g) => {
        clearTimeout(timer);
        offClose();
        this.onGreeting = undefined;
        resolve(g);
      };
    });
  }

  private handle(line: string): void {
    let msg;
    try {
      msg = classify(JSON.parse(line));
    } catch (e) {
      // Not QMP: nothing after this can be trusted; fail everything with the reason.
      this.protocolError = new Error(`QMP ${this.socketPath}: bad message ${JSON.stringify(line.slice(0, 200))}: ${(e as Error).message}`);
      this.sock.destroy();
      return;
    }
    switch (msg.kind) {
      case 'greeting':
        this.onGreeting?.(msg.greeting);
        return;
      case 'event':
        this.emitter.emit('event', msg.event);
        return;
      case 'return':
      case 'error': {
        // Replies to commands sent by someone else (none: we number our own) are dropped.
        const p = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
        if (!p) return;
        if (msg.kind === 'return') p.resolve(msg.value);
        else p.reject(new QmpError(p.command, msg.error.class, msg.error.desc));
      }
    }
  }

  private handleClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const p of [...this.pending.values()]) p.reject(this.protocolError ?? new QmpClosedError(this.socketPath, p.command));
    this.emitter.emit('close');
  }
}
