// Instance exports and imports on a node whose agent runs elsewhere: a GET
// of the tar stream from its node server, or a POST of one to it
// (src/agent/node-server/backup-stream.ts), with the node's refusals turned
// back into BackupErrors of the same code.
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { BackupError, type BackupTarget, type NodeBackup } from '../../agent/backup/node-backup.js';
import { backupPath } from '../../agent/node-server/backup-stream.js';
import type { KubeObject } from '../../apis/types.js';
import { nodeEndpoint, nodeGet, nodeRefusal, type NodeEndpoint } from './node-connection.js';

const CODES = [400, 404, 409, 500, 503, 507] as const;

async function refusal(res: IncomingMessage, nodeName: string): Promise<BackupError> {
  const { message, body } = await nodeRefusal(res, [] as const);
  let reason = 'NodeError';
  try {
    reason = (JSON.parse(body) as { reason?: string }).reason ?? reason;
  } catch {
    /* not JSON */
  }
  const code = (CODES as readonly number[]).includes(res.statusCode ?? 0) ? (res.statusCode as BackupError['code']) : 500;
  return new BackupError(code, reason, `node "${nodeName}": ${message ?? (body || `status ${res.statusCode}`)}`);
}

export class RemoteNodeBackup implements NodeBackup {
  constructor(
    private readonly getNode: (name: string) => Promise<KubeObject | undefined>,
    private readonly token: string,
  ) {}

  private async endpoint(nodeName: string): Promise<NodeEndpoint> {
    const node = await this.getNode(nodeName);
    if (!node) throw new BackupError(503, 'NodeUnavailable', `node "${nodeName}" not found`);
    const ep = nodeEndpoint(node);
    if (typeof ep === 'string') throw new BackupError(503, 'NodeUnavailable', ep);
    return ep;
  }

  async exportInstance(nodeName: string, target: BackupTarget, signal: AbortSignal): Promise<Readable> {
    const res = await nodeGet(await this.endpoint(nodeName), this.token, backupPath(target, 'export'), signal);
    if (res.statusCode !== 200) throw await refusal(res, nodeName);
    return res;
  }

  async importInstance(nodeName: string, target: BackupTarget, body: Readable, signal: AbortSignal): Promise<{ message: string }> {
    const ep = await this.endpoint(nodeName);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: ep.host, port: ep.port, path: backupPath(target, 'import'), method: 'POST', ca: ep.caPem, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/x-tar' }, signal }, resolve);
      req.once('error', (e) => reject(new BackupError(503, 'NodeUnavailable', `node server ${ep.host}:${ep.port}: ${e.message}`)));
      body.pipe(req);
    });
    if (res.statusCode !== 200) throw await refusal(res, nodeName);
    let text = '';
    for await (const c of res) text += String(c);
    try {
      return JSON.parse(text) as { message: string };
    } catch {
      return { message: text };
    }
  }
}
