// The instances/export and instances/import subresources: an Instance's
// disk and snapshots as one tar stream (application/x-tar), produced and
// taken by the node that holds the instance (through NodeBackup: in-process
// in `lodge up`, its node server otherwise). Export is a GET; import a POST
// whose body is the tarball, into an Instance `lodge import` created for it.
import { BackupError, type NodeBackup } from '../../agent/backup/node-backup.js';
import type { ResourceType } from '../../apis/types.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, methodNotAllowed, unsupportedMediaType, type StatusReason } from '../status.js';
import type { ApiRequest } from './body.js';
import { mediaType } from './body.js';
import { resolveInstanceOnNode } from './console-handler.js';
import { sendJson, type ApiResponse } from './respond.js';
import type { Readable } from 'node:stream';
import { writeHeld } from './stream-text.js';

const REASONS: Record<BackupError['code'], StatusReason> = { 400: 'BadRequest', 404: 'NotFound', 409: 'Conflict', 500: 'InternalError', 503: 'ServiceUnavailable', 507: 'InternalError' };

const apiErrorOf = (e: BackupError): ApiError => new ApiError(e.code, REASONS[e.code], e.message);

type At = { rt: ResourceType; ns: string | undefined; name: string };

async function target(at: At, svc: ResourceService, nodeBackup: NodeBackup | undefined): Promise<{ nodeName: string; t: { uid: string; namespace: string; name: string; type: 'container' | 'vm' } }> {
  const { nodeName, target: c } = await resolveInstanceOnNode(at.rt, at.ns, at.name, svc);
  if (!nodeBackup) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node backup sources');
  return { nodeName, t: { uid: c.uid, namespace: String(at.ns ?? 'default'), name: at.name, type: c.type } };
}

export async function handleInstanceExport(req: ApiRequest, res: ApiResponse, at: At, svc: ResourceService, nodeBackup: NodeBackup | undefined): Promise<void> {
  if (req.method !== 'GET') throw methodNotAllowed(`the server does not allow ${req.method} on ${at.rt.plural}/export`);
  const { nodeName, t } = await target(at, svc, nodeBackup);
  const abort = new AbortController();
  let stream: Readable;
  try {
    stream = await nodeBackup!.exportInstance(nodeName, t, abort.signal);
  } catch (e) {
    if (e instanceof BackupError) throw apiErrorOf(e);
    throw e;
  }
  // The client went: so does the node's tar (and its temp files).
  res.on('close', () => {
    if (!res.writableFinished) {
      abort.abort();
      stream.destroy();
    }
  });
  res.writeHead(200, { 'content-type': 'application/x-tar', 'content-disposition': `attachment; filename="${at.name}.tar"`, 'cache-control': 'no-cache, private' });
  try {
    for await (const chunk of stream) {
      await writeHeld(res, chunk as Buffer);
      if (res.destroyed) break;
    }
    res.end();
  } catch {
    // Headers are sent: a stream cut short is all the client can be told (its tar reader sees the archive end early).
    res.destroy();
  }
}

export async function handleInstanceImport(req: ApiRequest, res: ApiResponse, at: At, svc: ResourceService, nodeBackup: NodeBackup | undefined): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${at.rt.plural}/import`);
  const type = mediaType(req);
  if (type !== 'application/x-tar' && type !== 'application/octet-stream') throw unsupportedMediaType(`instances/import takes the tarball of lodge export (application/x-tar), not ${type}`);
  const { nodeName, t } = await target(at, svc, nodeBackup);
  const abort = new AbortController();
  req.on('aborted', () => abort.abort());
  try {
    const out = await nodeBackup!.importInstance(nodeName, t, req as Readable, abort.signal);
    sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', message: out.message, code: 200 });
  } catch (e) {
    // What is left of the upload is read and dropped: the client then reads this answer instead of a reset connection.
    req.resume();
    if (e instanceof BackupError) throw apiErrorOf(e);
    throw e;
  }
}
