// The instances/log subresource: an Instance's console log as text/plain,
// read from the node it runs (or ran) on, kept across boots and after a
// stop: a VM's serial output raw, a system container's terminal output as
// the message of each CRI line. `follow` streams what comes until the
// Instance is deleted or the client goes; `tailLines` starts at the last N.
import { ConsoleUnavailableError, type ConsoleLogOptions, type NodeConsole } from '../../agent/console/node-console.js';
import type { ResourceType } from '../../apis/types.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, methodNotAllowed } from '../status.js';
import type { ApiRequest } from './body.js';
import { resolveInstanceOnNode } from './console-handler.js';
import type { ApiResponse } from './respond.js';
import { streamText } from './stream-text.js';

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function tailLines(q: URLSearchParams): number | undefined {
  const v = q.get('tailLines');
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid value for tailLines: ${JSON.stringify(v)}: must be a non-negative integer`);
  return Number(v);
}

export async function handleInstanceLog(req: ApiRequest, res: ApiResponse, at: { rt: ResourceType; ns: string | undefined; name: string; q: URLSearchParams }, svc: ResourceService, nodeConsole: NodeConsole | undefined): Promise<void> {
  if (req.method !== 'GET') throw methodNotAllowed(`the server does not allow ${req.method} on ${at.rt.plural}/log`);
  const { nodeName, target } = await resolveInstanceOnNode(at.rt, at.ns, at.name, svc);
  if (!nodeConsole) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node console sources');
  const abort = new AbortController();
  const opts: ConsoleLogOptions = { follow: flag(at.q, 'follow'), tailLines: tailLines(at.q), signal: abort.signal };
  let chunks: AsyncIterable<string>;
  try {
    chunks = await nodeConsole.log(nodeName, target, opts);
  } catch (e) {
    if (!(e instanceof ConsoleUnavailableError)) throw e;
    if (e.reason === 'instance') throw badRequest(`instance ${at.name} has no console log yet: ${e.message}`);
    throw new ApiError(503, 'ServiceUnavailable', e.message);
  }
  await streamText(res, chunks, abort, 'text/plain; charset=utf-8');
}
