// The remote command protocol over a WebSocket (kubectl ≥ 1.30, client
// libraries): every message is one channel byte and its payload: 0 stdin,
// 1 stdout, 2 stderr, 3 error (the outcome), 4 resize, and with v5 255
// "close" (payload: the channel whose sender is done, so that
// `echo hi | kubectl exec -i` can end stdin without closing the connection).
import type { RawData, WebSocket } from 'ws';
import type { NodeExec } from '../../agent/exec/node-exec.js';
import type { Logger } from '../../util/log.js';
import { REMOTECOMMAND_CHANNEL } from './channels.js';
import { ExecSession, type ExecRequest } from './exec-session.js';
import { execOutcome } from './outcome.js';
import { parseTerminalSize } from './terminal-size.js';

export const WEBSOCKET_EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export type WebSocketExecProtocol = (typeof WEBSOCKET_EXEC_PROTOCOLS)[number];

const { stdin: CH_STDIN, stdout: CH_STDOUT, stderr: CH_STDERR, error: CH_ERROR, resize: CH_RESIZE, close: CH_CLOSE } = REMOTECOMMAND_CHANNEL;
// ws.readyState's OPEN, without importing the class for a constant.
const OPEN = 1;

function frame(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/** Run the exec over an upgraded WebSocket until the process ends or the client leaves. */
export async function serveExecWebSocket(ws: WebSocket, protocol: WebSocketExecProtocol, x: ExecRequest, nodeExec: NodeExec, log: Logger): Promise<void> {
  const session = new ExecSession(x, nodeExec);
  ws.on('error', () => undefined); // a client that vanished shows as 'close'
  ws.on('close', () => session.hangUp());
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!buf.length) return;
    const payload = buf.subarray(1);
    switch (buf[0]) {
      case CH_STDIN:
        return session.stdin(payload);
      case CH_RESIZE: {
        if (!payload.length) return;
        const size = parseTerminalSize(payload.toString('utf8'));
        if (size) session.resize(size);
        else log.warn('ignoring an unreadable resize message', { pod: x.pod.metadata.name, payload: payload.toString('utf8').slice(0, 100) });
        return;
      }
      case CH_CLOSE:
        if (protocol === 'v5.channel.k8s.io' && payload[0] === CH_STDIN) session.endStdin();
        return;
    }
  });

  const result = await session.run(
    (stream, chunk) =>
      new Promise((resolve) => {
        if (ws.readyState !== OPEN) return resolve();
        ws.send(frame(stream === 'stdout' ? CH_STDOUT : CH_STDERR, chunk), () => resolve());
      }),
  );
  if (session.clientGone || ws.readyState !== OPEN) return;
  const text = execOutcome(result, x.command, protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io');
  if (text !== undefined) ws.send(frame(CH_ERROR, text));
  ws.close(1000);
}
