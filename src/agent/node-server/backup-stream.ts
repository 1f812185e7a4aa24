// Instance exports and imports between the API server and a node server:
// GET /backup/instance/UID/export?namespace=NS&name=NAME&type=vm|container
// answers the tar stream (application/x-tar); POST .../import with the same
// query takes one as its body and answers {message}. Refusals are JSON
// {reason, message} with the BackupError's code, which the caller maps back.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { fail } from './fail.js';
import type { Logger } from '../../util/log.js';
import { BackupError, type BackupTarget, type NodeBackup } from '../backup/node-backup.js';

export type BackupOp = 'export' | 'import';

export function backupPath(t: BackupTarget, op: BackupOp): string {
  const q = new URLSearchParams({ namespace: t.namespace, name: t.name, type: t.type });
  return `/backup/instance/${encodeURIComponent(t.uid)}/${op}?${q}`;
}

export function parseBackupPath(url: URL): { op: BackupOp; target: BackupTarget } | undefined {
  const m = /^\/backup\/instance\/([^/]+)\/(export|import)$/.exec(url.pathname);
  if (!m) return undefined;
  const q = url.searchParams;
  return { op: m[2] as BackupOp, target: { uid: decodeURIComponent(m[1]!), namespace: q.get('namespace') ?? '', name: q.get('name') ?? '', type: q.get('type') === 'vm' ? 'vm' : 'container' } };
}


export async function serveBackup(req: IncomingMessage, res: ServerResponse, r: { op: BackupOp; target: BackupTarget }, deps: { nodeName: string; backup: NodeBackup; log: Logger }): Promise<void> {
  const want = r.op === 'export' ? 'GET' : 'POST';
  if (req.method !== want) return fail(res, 405, 'MethodNotAllowed', `${req.method} is not allowed on ${r.op}; use ${want}`);
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    if (r.op === 'export') {
      const stream = await deps.backup.exportInstance(deps.nodeName, r.target, abort.signal);
      res.writeHead(200, { 'content-type': 'application/x-tar' });
      await pipeline(stream, res).catch((e: Error) => deps.log.warn('export stream ended early', { instance: `${r.target.namespace}/${r.target.name}`, error: e.message }));
      return;
    }
    const out = await deps.backup.importInstance(deps.nodeName, r.target, req, abort.signal);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out));
  } catch (e) {
    // The rest of an upload is read and dropped, so the caller gets this answer instead of a reset.
    if (r.op === 'import') req.resume();
    if (e instanceof BackupError) return fail(res, e.code, e.reason, e.message);
    throw e;
  }
}
