// POST .../pods/NAME/eviction: evict a Pod the way `kubectl drain` asks, with
// the Eviction's DeleteOptions, honouring the PodDisruptionBudget that covers
// it (src/api/eviction/evict.ts). Answered as the apiserver does: a Status of
// 201 Success; 429 TooManyRequests (with Retry-After when the budget is still
// being processed) when the budget allows no disruption now; a 500 Status
// when several budgets cover the Pod.
import type { ResourceType } from '../../apis/types.js';
import { parseEviction } from '../eviction/eviction-body.js';
import { evictPod } from '../eviction/evict.js';
import type { ResourceService } from '../resources/resource-service.js';
import { badRequest, methodNotAllowed } from '../status.js';
import { mediaType, readBody, type ApiRequest } from './body.js';
import { sendJson, type ApiResponse } from './respond.js';

export async function handleEviction(req: ApiRequest, res: ApiResponse, rt: ResourceType, ns: string | undefined, name: string, svc: ResourceService): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on pods/eviction`);
  const ev = parseEviction(await readBody(req), mediaType(req));
  if (ev.name && ev.name !== name) throw badRequest(`name in URL does not match name in Eviction object: ${name} != ${ev.name}`);
  if (ev.namespace && ev.namespace !== ns) throw badRequest(`namespace in URL does not match namespace in Eviction object: ${ns} != ${ev.namespace}`);
  const result = await evictPod(svc, rt, ns, name, ev.deleteOptions);
  if (!result.ok) {
    sendJson(res, result.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: result.message, code: result.code });
    return;
  }
  sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
