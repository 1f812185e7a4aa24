// POST .../pods/NAME/eviction: delete a Pod the way `kubectl drain` asks,
// with the Eviction's DeleteOptions. Lodge has no PodDisruptionBudgets yet,
// so every eviction is allowed (Kubernetes allows those a budget does not
// cover); answered, as the apiserver does, with a Status of 201 Success.
import type { ResourceType } from '../../apis/types.js';
import { parseEviction } from '../eviction/eviction-body.js';
import type { ResourceService } from '../resources/resource-service.js';
import { badRequest, methodNotAllowed } from '../status.js';
import { mediaType, readBody, type ApiRequest } from './body.js';
import { sendJson, type ApiResponse } from './respond.js';

export async function handleEviction(req: ApiRequest, res: ApiResponse, rt: ResourceType, ns: string | undefined, name: string, svc: ResourceService): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on pods/eviction`);
  const ev = parseEviction(await readBody(req), mediaType(req));
  if (ev.name && ev.name !== name) throw badRequest(`name in URL does not match name in Eviction object: ${name} != ${ev.name}`);
  if (ev.namespace && ev.namespace !== ns) throw badRequest(`namespace in URL does not match namespace in Eviction object: ${ns} != ${ev.namespace}`);
  await svc.delete(rt, ns, name, ev.deleteOptions);
  sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
