// The kubelet's port-forward protocol, portforward.k8s.io, over SPDY (as
// kubectl speaks it over an HTTP Upgrade, and inside a WebSocket since 1.30).
// Per forwarded connection the client opens two streams with the headers
// streamType (error, then data), port and requestID; the pair shares the
// requestID. Once both are there the workload is dialled; the data stream
// carries the bytes, the error stream the reason it failed, if it did, and
// its FIN says the connection is over (kubectl waits for it). A failure ends
// only that connection: the SPDY connection stays up for the next one.
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/log.js';
import type { NodePortForward } from '../../agent/portforward/node-port-forward.js';
import { SpdyConnection } from '../spdy/connection.js';
import { RST_STATUS } from '../spdy/frames.js';
import type { SpdyStream } from '../spdy/stream.js';
import { relay } from './relay.js';
import { parsePort, type PortForwardRequest } from './resolve.js';

export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io';
/** The kubelet's streamCreationTimeout: how long the first stream of a pair waits for the second. */
const PAIR_TIMEOUT_MS = 30_000;

interface StreamPair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Serve portforward.k8s.io on the transport until the client goes; returns the connection. */
export function servePortForwardSpdy(transport: Duplex, x: PortForwardRequest, nodePortForward: NodePortForward, log: Logger): SpdyConnection {
  const pairs = new Map<string, StreamPair>();
  const fields = { [x.target.kind]: x.obj.metadata.name, namespace: x.obj.metadata.namespace, node: x.nodeName };
  // kubectl's SPDY stack ignores WINDOW_UPDATE (see connection.ts): only the transport paces what goes to it.
  const conn = new SpdyConnection(transport, { role: 'server', honourPeerWindow: false, log, onStream: (s) => onStream(s) });

  function onStream(s: SpdyStream): void {
    // A reset by the client, or the session ending, must not take the server down: the relay sees the close.
    s.on('error', () => undefined);
    const type = s.headers.streamtype;
    if (type !== 'data' && type !== 'error') {
      log.warn('port-forward stream of unknown type refused', { ...fields, streamType: type });
      return s.refuse();
    }
    s.reply();
    // Clients before requestID paired streams by order: the error stream first, its data stream two ids later.
    const requestId = s.headers.requestid ?? String(type === 'error' ? s.id : s.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => expire(requestId), PAIR_TIMEOUT_MS);
      timer.unref();
      pair = { requestId, timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      log.warn('port-forward stream repeated', { ...fields, requestId, streamType: type });
      return s.reset(RST_STATUS.protocolError);
    }
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(pair.data, pair.error).catch((e: Error) => {
        log.error('port-forward connection failed', { ...fields, requestId, error: e.stack ?? e.message });
        pair.data?.destroy();
        pair.error?.destroy();
      });
    }
  }

  function expire(requestId: string): void {
    const pair = pairs.get(requestId);
    if (!pair) return;
    pairs.delete(requestId);
    if (pair.error) pair.error.end(`timed out waiting for the data stream of request ${requestId}`);
    pair.data?.reset();
  }

  async function forward(data: SpdyStream, error: SpdyStream): Promise<void> {
    // The client writes nothing on the error stream (it FINs it at once); what it holds is discarded.
    error.resume();
    const portHeader = data.headers.port;
    const port = parsePort(portHeader);
    const fail = (message: string): void => {
      data.end();
      error.end(message);
    };
    if (!port) return fail(`invalid port header ${JSON.stringify(portHeader ?? '')}: a port number between 1 and 65535 is required`);
    const say = (why: string): string => `error forwarding port ${port} to ${x.what}, uid ${x.target.uid}: ${why}`;
    let workload: Duplex;
    try {
      workload = await nodePortForward.connect(x.nodeName, x.target, port);
    } catch (e) {
      log.info('port-forward connect failed', { ...fields, port, error: (e as Error).message });
      return fail(say((e as Error).message));
    }
    const end = await relay(data, workload);
    if (end.error) log.info('port-forward connection broke', { ...fields, port, error: end.error.message });
    error.end(end.error ? say(end.error.message) : undefined);
  }

  void conn.closed.then((e) => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
    log.info('port-forward session ended', { ...fields, ...(e ? { error: e.message } : {}) });
  });
  log.info('port-forward session started', fields);
  return conn;
}
