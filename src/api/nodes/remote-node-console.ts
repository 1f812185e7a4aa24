// Instance consoles and console logs on a node whose agent runs elsewhere:
// one WebSocket to its node server per session, and a GET for the log
// (src/agent/node-server/console-stream.ts), with the same
// ConsoleUnavailableError reasons as an in-process source.
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import { ConsoleUnavailableError, type ConsoleLogOptions, type ConsoleSession, type ConsoleTarget, type NodeConsole } from '../../agent/console/node-console.js';
import { consoleLogPath, consolePath } from '../../agent/node-server/console-stream.js';
import { EXEC_CHANNEL, frame } from '../../agent/node-server/exec-stream.js';
import type { KubeObject } from '../../apis/types.js';
import { nodeEndpoint, nodeGet, nodeRefusal, type NodeEndpoint } from './node-connection.js';

type Reason = ConsoleUnavailableError['reason'];

async function errorOf(res: IncomingMessage, nodeName: string, what: string): Promise<ConsoleUnavailableError> {
  const { reason, message, body } = await nodeRefusal<Reason>(res, ['instance', 'notRunning']);
  return new ConsoleUnavailableError(reason, `node "${nodeName}": ${message ?? (body || `${what} answered status ${res.statusCode}`)}`);
}

export class RemoteNodeConsole implements NodeConsole {
  constructor(
    private readonly getNode: (name: string) => Promise<KubeObject | undefined>,
    private readonly token: string,
  ) {}

  private async endpoint(nodeName: string): Promise<NodeEndpoint> {
    const node = await this.getNode(nodeName);
    if (!node) throw new ConsoleUnavailableError('node', `node "${nodeName}" not found`);
    const ep = nodeEndpoint(node);
    if (typeof ep === 'string') throw new ConsoleUnavailableError('node', ep);
    return ep;
  }

  async attach(nodeName: string, target: ConsoleTarget): Promise<ConsoleSession> {
    const ep = await this.endpoint(nodeName);
    const url = `wss://${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}${consolePath(target)}`;
    const ws = new WebSocket(url, { ca: ep.caPem, headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        errorOf(res, nodeName, 'console').then(reject, reject);
      });
      ws.once('error', (e) => reject(new ConsoleUnavailableError('node', `node "${nodeName}" console: ${e.message}`)));
    });
    return adapt(ws);
  }

  async log(nodeName: string, target: ConsoleTarget, o: ConsoleLogOptions): Promise<AsyncIterable<string>> {
    const ep = await this.endpoint(nodeName);
    const res = await nodeGet(ep, this.token, consoleLogPath(target, o), o.signal);
    if (res.statusCode !== 200) throw await errorOf(res, nodeName, 'console log');
    res.setEncoding('utf8');
    return (async function* () {
      try {
        for await (const chunk of res) yield chunk as string;
      } catch (e) {
        if (!o.signal.aborted) throw e;
      }
    })();
  }
}

function adapt(ws: WebSocket): ConsoleSession {
  const send = (b: Buffer, cb?: () => void): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(b, () => cb?.());
    else cb?.();
  };
  const stream = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      send(frame(EXEC_CHANNEL.stdin, chunk), () => cb());
    },
    read() {
      ws.resume();
    },
    destroy(err, cb) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
      cb(err);
    },
  });
  ws.on('message', (data: RawData) => {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!buf.length) return;
    if (buf[0] === EXEC_CHANNEL.stdout) {
      if (!stream.push(buf.subarray(1))) ws.pause();
    } else if (buf[0] === EXEC_CHANNEL.end) {
      let end: { error?: string } = {};
      try {
        end = JSON.parse(buf.subarray(1).toString('utf8')) as typeof end;
      } catch {
        end = { error: 'the node sent an unreadable end of the console' };
      }
      if (stream.destroyed) return;
      if (end.error) stream.destroy(new Error(end.error));
      else stream.push(null);
    }
  });
  ws.on('close', () => {
    if (!stream.destroyed && !stream.readableEnded) stream.push(null);
  });
  ws.on('error', () => undefined); // a close follows
  return { stream, resize: (cols, rows) => send(frame(EXEC_CHANNEL.resize, JSON.stringify({ cols, rows }))) };
}
