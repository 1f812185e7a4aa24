// What a pods/portforward or instances/portforward request addresses: the
// workload, its node, and how the kubelet names it in its errors. Checked
// before the upgrade, so the client gets a Status with the reason.
import type { KubeObject, ResourceType } from '../../apis/types.js';
import type { PortForwardTarget } from '../../agent/portforward/node-port-forward.js';
import type { ResourceService } from '../resources/resource-service.js';
import { badRequest } from '../status.js';

export interface PortForwardRequest {
  obj: KubeObject;
  target: PortForwardTarget;
  nodeName: string;
  /** "pod NAME" / "instance NAME", as errors say it. */
  what: string;
}

/** Whether a kind has the portforward subresource: Pods (Kubernetes) and Instances. */
export function hasPortForward(rt: ResourceType): boolean {
  return (rt.kind === 'Pod' && rt.group === '') || (rt.kind === 'Instance' && rt.group === 'lodge.dev');
}

export async function resolvePortForward(rt: ResourceType, ns: string | undefined, name: string, svc: ResourceService): Promise<PortForwardRequest> {
  const obj = (await svc.get(rt, ns, name)).obj;
  const uid = String(obj.metadata.uid);
  const phase = obj.status?.phase as string | undefined;
  if (rt.kind === 'Instance') {
    const nodeName = (obj.status?.nodeName as string | undefined) ?? (obj.spec?.nodeName as string | undefined);
    if (!nodeName) throw badRequest(`instance ${name} has not been placed on a node yet`);
    if (phase !== 'Running') throw badRequest(`unable to upgrade connection: instance ${name} is not running (phase ${phase ?? 'Pending'})`);
    return { obj, target: { kind: 'instance', uid }, nodeName, what: `instance ${name}` };
  }
  const nodeName = obj.spec?.nodeName as string | undefined;
  if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
  // kubectl checks this itself and says it so; other clients get the same words from here.
  if (phase !== 'Running') throw badRequest(`unable to forward port because pod is not running. Current status=${phase ?? 'Pending'}`);
  return { obj, target: { kind: 'pod', uid }, nodeName, what: `pod ${name}` };
}

/** A port as a stream header or query gives it; undefined when it is none. */
export function parsePort(text: string | undefined | null): number | undefined {
  if (!text || !/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 && n < 65536 ? n : undefined;
}
