// The remote command protocol over SPDY/3.1, as kubectl before 1.30 speaks it
// (and 1.30+ when the WebSocket upgrade fails), the kubelet's side of it: the
// client opens one stream per purpose, named by its streamType header (error,
// stdin, stdout, stderr, resize), each answered at once, as client-go waits
// for the reply before opening the next. The process starts once every
// stream the request asked for is there: stdin with -i, stdout and stderr as
// asked (no stderr with a terminal, which has one output), resize with a
// terminal from v3 on. When it ends, stdout and stderr are finished, the
// outcome goes on the error stream (a Status from v4 on), and then, as the
// kubelet does, whatever is still open is reset and the connection closed.
import type { Duplex } from 'node:stream';
import type { NodeExec } from '../../agent/exec/node-exec.js';
import type { Logger } from '../../util/log.js';
import { SpdyConnection } from '../spdy/connection.js';
import type { SpdyStream } from '../spdy/stream.js';
import { ExecSession, type ExecRequest } from './exec-session.js';
import { execOutcome } from './outcome.js';
import { TerminalSizeDecoder } from './terminal-size.js';

/** In the kubelet's order; the client's order decides (see chooseSpdyExecProtocol). */
export const SPDY_EXEC_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type SpdyExecProtocol = (typeof SPDY_EXEC_PROTOCOLS)[number];

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** The kubelet's streamCreationTimeout: how long the client has to open every stream. */
const STREAM_CREATION_TIMEOUT_MS = 30_000;
/** After the last word the client closes the connection; one that does not is cut off after this. */
const LINGER_MS = 10_000;

/** The first of the client's versions this server speaks; a client that names none speaks the first protocol. */
export function chooseSpdyExecProtocol(offered: string[]): SpdyExecProtocol | undefined {
  if (offered.length === 0) return 'channel.k8s.io';
  return offered.find((p): p is SpdyExecProtocol => (SPDY_EXEC_PROTOCOLS as readonly string[]).includes(p));
}

function expectedStreams(protocol: SpdyExecProtocol, x: ExecRequest): Set<StreamType> {
  const want = new Set<StreamType>(['error']);
  if (x.stdin) want.add('stdin');
  if (x.stdout) want.add('stdout');
  if (x.stderr && !x.tty) want.add('stderr');
  if (x.tty && (protocol === 'v3.channel.k8s.io' || protocol === 'v4.channel.k8s.io')) want.add('resize');
  return want;
}

/** Serve one exec on an upgraded SPDY transport; returns the connection. */
export function serveExecSpdy(transport: Duplex, protocol: SpdyExecProtocol, x: ExecRequest, nodeExec: NodeExec, log: Logger): SpdyConnection {
  const fields = { pod: x.pod.metadata.name, namespace: x.pod.metadata.namespace, container: x.container, protocol };
  const expected = expectedStreams(protocol, x);
  const streams = new Map<StreamType, SpdyStream>();
  const session = new ExecSession(x, nodeExec);
  let started = false;
  // kubectl's SPDY stack ignores WINDOW_UPDATE (see spdy/connection.ts): only the transport paces what goes to it.
  const conn = new SpdyConnection(transport, { role: 'server', honourPeerWindow: false, log, onStream });
  const timer = setTimeout(() => {
    log.warn('exec: the client did not open every stream in time', { ...fields, expected: [...expected], opened: [...streams.keys()] });
    void finish(new Error(`timed out waiting for the client to create streams: expected [${[...expected].join(' ')}], got [${[...streams.keys()].join(' ')}]`));
  }, STREAM_CREATION_TIMEOUT_MS);
  timer.unref();
  void conn.closed.then(() => {
    clearTimeout(timer);
    session.hangUp();
  });

  function onStream(s: SpdyStream): void {
    // A reset by the client, or the connection ending, must not take the server down.
    s.on('error', () => undefined);
    const type = s.headers.streamtype as StreamType | undefined;
    if (started || !type || !expected.has(type) || streams.has(type)) {
      log.warn('exec: unexpected stream refused', { ...fields, streamType: type ?? '' });
      return s.refuse();
    }
    s.reply();
    streams.set(type, s);
    if (type === 'stdin') {
      s.on('data', (chunk: Buffer) => session.stdin(chunk));
      s.on('end', () => session.endStdin());
    } else if (type === 'resize') {
      const sizes = new TerminalSizeDecoder(
        (size) => session.resize(size),
        (text) => log.warn('exec: ignoring an unreadable resize message', { ...fields, payload: text }),
      );
      s.on('data', (chunk: Buffer) => sizes.push(chunk));
      s.on('end', () => sizes.end());
    } else {
      // The client sends nothing on these; reading lets its FIN be seen.
      s.resume();
    }
    if (streams.size === expected.size) void run();
  }

  async function run(): Promise<void> {
    started = true;
    clearTimeout(timer);
    const result = await session.run((which, chunk) => write(streams.get(which), chunk));
    await finish(result);
  }

  async function finish(result: { exitCode: number } | Error): Promise<void> {
    started = true;
    if (conn.isClosed) return;
    await Promise.all([end(streams.get('stdout')), end(streams.get('stderr'))]);
    await end(streams.get('error'), execOutcome(result, x.command, protocol === 'v4.channel.k8s.io'));
    // client-go returns once it has read the outcome; what it left open (stdin of a terminal, resize) is torn down.
    for (const s of streams.values()) if (!s.destroyed) s.reset();
    conn.close();
    setTimeout(() => conn.destroy(), LINGER_MS).unref();
  }

  log.info('exec session started', { ...fields, transport: 'spdy' });
  return conn;
}

function write(s: SpdyStream | undefined, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (!s || s.destroyed || s.writableEnded) return resolve();
    s.write(chunk, () => resolve());
  });
}

function end(s: SpdyStream | undefined, last?: string): Promise<void> {
  return new Promise((resolve) => {
    if (!s || s.destroyed || s.writableEnded) return resolve();
    s.once('close', () => resolve());
    if (last === undefined) s.end(() => resolve());
    else s.end(last, () => resolve());
  });
}
