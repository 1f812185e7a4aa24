// Container logs of a node whose agent runs elsewhere: streamed from its node
// server (src/agent/node-server) with the same options and the same
// LogUnavailableError reasons as an in-process source.
import { LogUnavailableError, type LogOptions, type NodeLogs } from '../../agent/logs/node-logs.js';
import { containerLogsPath } from '../../agent/node-server/server.js';
import type { KubeObject } from '../../apis/types.js';
import { nodeEndpoint, nodeGet, nodeRefusal } from './node-connection.js';

export class RemoteNodeLogs implements NodeLogs {
  constructor(
    /** The Node object by name, or undefined when there is none. */
    private readonly getNode: (name: string) => Promise<KubeObject | undefined>,
    private readonly token: string,
  ) {}

  async open(nodeName: string, podUid: string, container: string, o: LogOptions): Promise<AsyncIterable<string>> {
    const node = await this.getNode(nodeName);
    if (!node) throw new LogUnavailableError('node', `node "${nodeName}" not found`);
    const ep = nodeEndpoint(node);
    if (typeof ep === 'string') throw new LogUnavailableError('node', ep);
    const q = new URLSearchParams();
    if (o.follow) q.set('follow', 'true');
    if (o.previous) q.set('previous', 'true');
    if (o.timestamps) q.set('timestamps', 'true');
    if (o.tailLines !== undefined) q.set('tailLines', String(o.tailLines));
    if (o.sinceSeconds !== undefined) q.set('sinceSeconds', String(o.sinceSeconds));
    if (o.limitBytes !== undefined) q.set('limitBytes', String(o.limitBytes));
    const res = await nodeGet(ep, this.token, `${containerLogsPath(podUid, container)}?${q}`, o.signal);
    if (res.statusCode !== 200) {
      const { reason, message, body } = await nodeRefusal(res, ['previous', 'waiting'] as const);
      throw new LogUnavailableError(reason, `node "${nodeName}": ${message ?? (body || `status ${res.statusCode}`)}`);
    }
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
