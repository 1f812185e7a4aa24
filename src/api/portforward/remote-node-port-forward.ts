// Port-forward to a workload on a node whose agent runs elsewhere: one
// WebSocket to its node server per TCP connection
// (src/agent/node-server/portforward-stream.ts).
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { PortForwardError, type NodePortForward, type PortForwardTarget } from '../../agent/portforward/node-port-forward.js';
import { portForwardPath } from '../../agent/node-server/portforward-stream.js';
import { webSocketByteStream } from '../../agent/portforward/ws-byte-stream.js';
import type { KubeObject } from '../../apis/types.js';
import { nodeEndpoint, nodeRefusal } from '../nodes/node-connection.js';

export class RemoteNodePortForward implements NodePortForward {
  constructor(
    private readonly getNode: (name: string) => Promise<KubeObject | undefined>,
    private readonly token: string,
  ) {}

  async connect(nodeName: string, target: PortForwardTarget, port: number): Promise<Duplex> {
    const node = await this.getNode(nodeName);
    if (!node) throw new PortForwardError('node', `node "${nodeName}" not found`);
    const ep = nodeEndpoint(node);
    if (typeof ep === 'string') throw new PortForwardError('node', ep);
    const url = `wss://${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}${portForwardPath(target, port)}`;
    const ws = new WebSocket(url, { ca: ep.caPem, headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => {
        nodeRefusal(res, ['dial', 'target'] as const).then(
          ({ reason, message }) => reject(new PortForwardError(reason, message ?? `node "${nodeName}" answered port-forward with status ${res.statusCode}`)),
          (e: Error) => reject(new PortForwardError('node', `node "${nodeName}" port-forward: ${e.message}`)),
        );
      });
      ws.once('error', (e) => reject(new PortForwardError('node', `node "${nodeName}" port-forward: ${e.message}`)));
    });
    return webSocketByteStream(ws);
  }
}
