// The binding subresource (pods/binding, instances/binding): how a scheduler
// places a workload on a node. One compare-and-swap write sets where it runs
// (a Pod's spec.nodeName, an Instance's status.nodeName) and its Scheduled
// condition, and refuses what Kubernetes refuses: a workload already bound,
// one being deleted, or — with a uid precondition — a different object of
// the same name. A status.nominatedNodeName is cleared with it.
import type { Condition } from '../../apis/core/v1/types.js';
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { rfc3339 } from '../resources/clock.js';
import type { ResourceService, Stored, WriteContext } from '../resources/resource-service.js';
import { notSupported, required } from '../../apis/core/v1/field-errors.js';
import { badRequest, conflict, invalid, nameMismatch, uidPreconditionFailed } from '../status.js';

/** What a Binding (core/v1) asks: put object NAME (uid, optionally) on node TARGET. */
export interface BindingRequest {
  name: string;
  uid?: string;
  nodeName: string;
}


/** Read a Binding body ({metadata: {name, uid}, target: {kind: Node, name}}), naming the field that is wrong. */
export function parseBinding(body: unknown, nameInUrl: string | undefined): BindingRequest {
  const b = (body ?? {}) as { kind?: unknown; metadata?: { name?: unknown; uid?: unknown }; target?: { kind?: unknown; name?: unknown } };
  if (b.kind !== undefined && b.kind !== 'Binding') throw badRequest(`a binding must be of kind Binding, not ${JSON.stringify(b.kind)}`);
  const name = typeof b.metadata?.name === 'string' && b.metadata.name ? b.metadata.name : nameInUrl;
  const binding = { kind: 'Binding', group: '' };
  if (!name) throw invalid(binding, '', [required('metadata.name', 'the name of the object to bind')]);
  if (nameInUrl && name !== nameInUrl) throw nameMismatch(name, nameInUrl);
  const nodeName = b.target?.name;
  if (typeof nodeName !== 'string' || !nodeName) throw invalid(binding, name, [required('target.name', 'the node to bind to')]);
  if (b.target?.kind !== undefined && b.target.kind !== '' && b.target.kind !== 'Node')
    throw invalid(binding, name, [notSupported('target.kind', b.target.kind, ['Node'])]);
  const uid = typeof b.metadata?.uid === 'string' && b.metadata.uid ? b.metadata.uid : undefined;
  return { name, uid, nodeName };
}

function withCondition(conditions: Condition[] | undefined, c: Condition): Condition[] {
  const out = (conditions ?? []).filter((x) => x.type !== c.type);
  out.push(c);
  return out;
}

/** The kinds that have a binding subresource, and where each keeps its node. */
export function hasBinding(rt: Pick<ResourceType, 'group' | 'plural'>): boolean {
  return (rt.group === '' && rt.plural === 'pods') || (rt.group === 'lodge.dev' && rt.plural === 'instances');
}

/** Bind one workload to a node: one write, refused with a 409 when it is bound already or being deleted. */
/** known: the caller's recent copy of the object (a scheduler's informer cache), tried first to save a read. */
export async function bind(svc: ResourceService, rt: ResourceType, ns: string | undefined, req: BindingRequest, ctx: WriteContext, known?: KubeObject): Promise<Stored> {
  const isPod = rt.group === '' && rt.plural === 'pods';
  return svc.rewrite(
    rt,
    ns,
    req.name,
    (obj: KubeObject) => {
      if (req.uid && obj.metadata.uid !== req.uid) throw uidPreconditionFailed(rt, req.name, req.uid, obj.metadata.uid);
      if (obj.metadata.deletionTimestamp) throw conflict(rt, req.name, `${rt.singular} ${req.name} is being deleted, cannot be assigned to a host`);
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      const status = (obj.status ?? {}) as Record<string, unknown>;
      const bound = isPod ? spec.nodeName : status.nodeName;
      if (bound) throw conflict(rt, req.name, `${rt.singular} ${req.name} is already assigned to node "${String(bound)}"`);
      const now = rfc3339();
      if (isPod) {
        obj.spec = { ...spec, nodeName: req.nodeName };
        obj.status = { ...status, conditions: withCondition(status.conditions as Condition[] | undefined, { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now }) };
      } else {
        // An Instance's agent owns its status from here on; the binding only says where and that it is scheduled.
        obj.status = {
          ...status,
          nodeName: req.nodeName,
          phase: 'Scheduled',
          state: 'Scheduled',
          restartCount: status.restartCount ?? 0,
          conditions: withCondition(status.conditions as Condition[] | undefined, { type: 'Scheduled', status: 'True', reason: 'Bound', message: `bound to node ${req.nodeName}`, lastTransitionTime: now }),
        };
        delete (obj.status as Record<string, unknown>).reason;
        delete (obj.status as Record<string, unknown>).message;
      }
      // A nomination (a preemption's promise of room) is spent once the workload is placed: cleared here, as
      // kube-apiserver's binding does since Kubernetes 1.34 (KEP-5278), whoever nominated it.
      delete (obj.status as Record<string, unknown>).nominatedNodeName;
      return obj;
    },
    ctx,
    known,
  );
}
