// The /scale subresource: an autoscaling/v1 Scale view of a kind's replica
// count, so `kubectl scale` (and later autoscalers) work on any kind that
// declares where its replicas live.
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { pathValue } from '../../apis/columns.js';
import { applyJsonPatch, applyMergePatch } from '../patch/index.js';
import type { ResourceService, WriteContext } from '../resources/resource-service.js';
import { labelSelectorToString, type LabelSelectorObject } from '../selectors.js';
import { ApiError, methodNotAllowed, nameMismatch, staleUpdate } from '../status.js';
import { decodeBody, mediaType, readBody, type ApiRequest } from './body.js';
import { sendJson, type ApiResponse } from './respond.js';

type ScaleSpec = NonNullable<ResourceType['scale']>;

function toScale(obj: KubeObject, s: ScaleSpec): KubeObject {
  const sel = s.labelSelectorPath ? pathValue(obj, s.labelSelectorPath) : undefined;
  const status: Record<string, unknown> = { replicas: Number(pathValue(obj, s.statusReplicasPath) ?? 0) };
  const selector = typeof sel === 'string' ? sel : sel && typeof sel === 'object' ? labelSelectorToString(sel as LabelSelectorObject) : '';
  if (selector) status.selector = selector;
  const m = obj.metadata;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: Number(pathValue(obj, s.specReplicasPath) ?? 0) },
    status,
  };
}

function replicasPatch(path: string, replicas: number): Record<string, unknown> {
  const parts = path.split('.');
  let patch: Record<string, unknown> = { [parts[parts.length - 1]]: replicas };
  for (let i = parts.length - 2; i >= 0; i--) patch = { [parts[i]]: patch };
  return patch;
}

export async function handleScale(
  req: ApiRequest,
  res: ApiResponse,
  rt: ResourceType,
  ns: string | undefined,
  name: string,
  ctx: WriteContext,
  svc: ResourceService,
): Promise<void> {
  const s = rt.scale as ScaleSpec;
  const current = await svc.get(rt, ns, name);
  const scale = toScale(current.obj, s);
  if (req.method === 'GET') return sendJson(res, 200, scale);
  let desired: KubeObject;
  const buf = await readBody(req);
  const type = mediaType(req);
  if (req.method === 'PUT') desired = decodeBody(buf, type, ['application/json', 'application/yaml']) as KubeObject;
  else if (req.method === 'PATCH') {
    const patch = decodeBody(buf, 'application/json', ['application/json']);
    if (type === 'application/json-patch+json') desired = applyJsonPatch(scale, patch) as KubeObject;
    else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') desired = applyMergePatch(scale, patch) as KubeObject;
    else throw new ApiError(415, 'UnsupportedMediaType', `the scale subresource takes merge, strategic merge or JSON patches, not ${type}`);
  } else throw methodNotAllowed(`the server does not allow ${req.method} on ${rt.plural}/scale`);
  const replicas = (desired?.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0)
    throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`, {
      name,
      kind: 'Scale',
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'must be a non-negative integer' }],
    });
  const rv = desired.metadata?.resourceVersion;
  if (req.method === 'PUT' && rv && rv !== current.obj.metadata.resourceVersion) throw staleUpdate(rt, name);
  if (desired.metadata?.name && desired.metadata.name !== name) throw nameMismatch(desired.metadata.name, name);
  const { stored } = await svc.patch(rt, ns, name, 'merge', replicasPatch(s.specReplicasPath, replicas), { ...ctx, force: false, viaSubresource: 'scale' });
  sendJson(res, 200, toScale(stored.obj, s));
}
