// The pods/log subresource: a container's log as text/plain, read from the
// log source of the node the Pod runs on (NodeLogs), optionally followed.
import type { ResourceType } from '../../apis/types.js';
import { LogUnavailableError, type LogOptions, type NodeLogs } from '../../agent/logs/node-logs.js';
import type { ResourceService } from '../resources/resource-service.js';
import { ApiError, badRequest, methodNotAllowed } from '../status.js';
import type { ApiRequest } from './body.js';
import type { ApiResponse } from './respond.js';
import { streamText } from './stream-text.js';

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function intParam(q: URLSearchParams, name: string, min: number): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`);
  const n = Number(v);
  if (n < min) throw badRequest(`${name}: Invalid value: ${n}: must be greater than or equal to ${min}`);
  return n;
}

export async function handleLog(
  req: ApiRequest,
  res: ApiResponse,
  rt: ResourceType,
  ns: string | undefined,
  name: string,
  q: URLSearchParams,
  svc: ResourceService,
  logs: NodeLogs | undefined,
): Promise<void> {
  if (req.method !== 'GET') throw methodNotAllowed(`the server does not allow ${req.method} on ${rt.plural}/log`);
  const pod = (await svc.get(rt, ns, name)).obj;
  const names = ((pod.spec?.containers as Array<{ name: string }> | undefined) ?? []).map((c) => c.name);
  let container = q.get('container') ?? '';
  if (!container) {
    if (names.length !== 1) throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
    container = names[0];
  } else if (!names.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const nodeName = pod.spec?.nodeName as string | undefined;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  if (!logs) throw new ApiError(503, 'ServiceUnavailable', 'this server has no node log sources');

  const abort = new AbortController();
  const opts: LogOptions = {
    follow: flag(q, 'follow'),
    previous: flag(q, 'previous'),
    timestamps: flag(q, 'timestamps'),
    tailLines: intParam(q, 'tailLines', 0),
    sinceSeconds: intParam(q, 'sinceSeconds', 1),
    limitBytes: intParam(q, 'limitBytes', 1),
    signal: abort.signal,
  };
  let lines: AsyncIterable<string>;
  try {
    lines = await logs.open(nodeName, String(pod.metadata.uid), container, opts);
  } catch (e) {
    if (!(e instanceof LogUnavailableError)) throw e;
    if (e.reason === 'previous') throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    if (e.reason === 'waiting') {
      const st = (pod.status?.containerStatuses as Array<{ name: string; state?: { waiting?: { reason?: string } } }> | undefined)?.find((s) => s.name === container);
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${st?.state?.waiting?.reason ?? 'ContainerCreating'}`);
    }
    throw new ApiError(503, 'ServiceUnavailable', e.message);
  }

  await streamText(res, lines, abort, 'text/plain');
}
