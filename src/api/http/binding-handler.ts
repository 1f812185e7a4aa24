// POST .../pods/NAME/binding and .../instances/NAME/binding: a Binding body
// places the workload on its target node (src/api/binding). Answered, as the
// apiserver does, with a Status of 201 Success.
import type { ResourceType } from '../../apis/types.js';
import { bind, parseBinding } from '../binding/binding.js';
import type { ResourceService, WriteContext } from '../resources/resource-service.js';
import { methodNotAllowed } from '../status.js';
import { decodeBody, mediaType, readBody, type ApiRequest } from './body.js';
import { sendJson, type ApiResponse } from './respond.js';

export async function handleBinding(req: ApiRequest, res: ApiResponse, rt: ResourceType, ns: string | undefined, name: string, ctx: WriteContext, svc: ResourceService): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed(`the server does not allow ${req.method} on ${rt.plural}/binding`);
  const body = decodeBody(await readBody(req), mediaType(req), ['application/json', 'application/yaml', '*/*']);
  await bind(svc, rt, ns, parseBinding(body, name), ctx);
  sendJson(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}
