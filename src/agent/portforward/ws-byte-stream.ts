// One TCP connection's bytes over a WebSocket, between the API server and a
// node server: each binary message starts with a kind byte, 0 data and
// 1 "this side sent everything" (a half-close, which a WebSocket close
// cannot say: the other direction must go on). Closing the WebSocket aborts
// both directions.
import { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';

export const TUNNEL_KIND = { data: 0, fin: 1 } as const;

function bytes(d: RawData): Buffer {
  return Array.isArray(d) ? Buffer.concat(d) : Buffer.isBuffer(d) ? d : Buffer.from(d);
}

/**
 * The WebSocket as a Duplex. Backpressure both ways: a write completes when
 * the WebSocket handed it to its socket, and while the reader is behind the
 * WebSocket stops reading (ws pause/resume).
 */
export function webSocketByteStream(ws: WebSocket): Duplex {
  let peerFinished = false;
  let finished = false;
  const stream = new Duplex({
    allowHalfOpen: true,
    read() {
      if (ws.readyState === WebSocket.OPEN && ws.isPaused) ws.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== WebSocket.OPEN) return cb(new Error('the tunnel is closed'));
      ws.send(Buffer.concat([Buffer.of(TUNNEL_KIND.data), chunk]), { binary: true }, (e) => cb(e ?? null));
    },
    final(cb) {
      finished = true;
      if (ws.readyState !== WebSocket.OPEN) return cb();
      ws.send(Buffer.of(TUNNEL_KIND.fin), { binary: true }, () => {
        cb();
        // Both sides done: nothing more will cross; the close is the clean end.
        if (peerFinished) ws.close(1000);
      });
    },
    destroy(err, cb) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        if (err) ws.terminate();
        else ws.close(1000);
      }
      cb(err);
    },
  });
  ws.on('message', (data: RawData) => {
    const b = bytes(data);
    if (!b.length) return;
    if (b[0] === TUNNEL_KIND.data) {
      if (!stream.push(b.subarray(1))) ws.pause();
    } else if (b[0] === TUNNEL_KIND.fin) {
      peerFinished = true;
      stream.push(null);
      if (finished) ws.close(1000);
    }
  });
  ws.on('error', (e) => stream.destroy(e));
  ws.on('close', () => {
    if (!peerFinished || !finished) stream.destroy(peerFinished ? undefined : new Error('the tunnel closed before the connection ended'));
  });
  return stream;
}
