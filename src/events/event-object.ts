// The Event a recorder writes for one report, as client-go's recorder makes
// it: named <object name>.<nanoseconds since the epoch in hex>, in the
// object's namespace ("default" for cluster-scoped objects such as Nodes),
// with a reference to the object as it was when reported. Also the keys the
// recorder groups reports by: the same occurrence again (aggregation) and
// the same object from the same source (spam filter).
import type { CoreEvent, ObjectReference } from '../apis/core/v1/types.js';
import type { KubeObject } from '../apis/types.js';
import { rfc3339 } from '../api/resources/clock.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  /** e.g. "replicaset-controller", "kubelet". */
  component: string;
  /** The node the report comes from (the agent's node name); controllers leave it empty. */
  host?: string;
}

/** The longest message Kubernetes keeps (noteLengthLimit, 1 KiB). */
const MAX_MESSAGE = 1024;

let lastNanos = 0n;

/** Nanoseconds since the epoch, strictly increasing within this process so two names never collide. */
function uniqueNanos(ms: number): bigint {
  const sub = process.hrtime.bigint() % 1_000_000n;
  let t = BigInt(Math.floor(ms)) * 1_000_000n + sub;
  if (t <= lastNanos) t = lastNanos + 1n;
  lastNanos = t;
  return t;
}

/** <name>.<16 hex digits>: client-go's fmt.Sprintf("%v.%x", name, t.UnixNano()). */
export function eventName(objectName: string, ms: number): string {
  return `${objectName}.${uniqueNanos(ms).toString(16).padStart(16, '0')}`;
}

export function objectReference(o: KubeObject, fieldPath?: string): ObjectReference {
  const m = o.metadata;
  return {
    kind: o.kind,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    name: m.name,
    uid: m.uid,
    apiVersion: o.apiVersion,
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
    ...(fieldPath ? { fieldPath } : {}),
  };
}

export interface Report {
  object: KubeObject;
  type: EventType;
  reason: string;
  message: string;
  fieldPath?: string;
}

export function newEvent(r: Report, source: EventSource, ms: number): CoreEvent {
  const ref = objectReference(r.object, r.fieldPath);
  const at = rfc3339(ms);
  const message = r.message.length > MAX_MESSAGE ? `${r.message.slice(0, MAX_MESSAGE - 3)}...` : r.message;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(String(ref.name), ms), namespace: ref.namespace ?? 'default' },
    involvedObject: ref,
    reason: r.reason,
    message,
    source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    type: r.type,
    reportingComponent: source.component,
    reportingInstance: source.host ?? '',
  };
}

/** Reports that are the same occurrence again: same object (by uid and part), type, reason, message and source. */
export function aggregationKey(e: CoreEvent): string {
  const o = e.involvedObject ?? {};
  return JSON.stringify([e.source?.component, e.source?.host, o.kind, o.namespace, o.name, o.uid, o.fieldPath, e.type, e.reason, e.message]);
}

/** Reports about the same object from the same source (client-go's getSpamKey). */
export function spamKey(e: CoreEvent): string {
  const o = e.involvedObject ?? {};
  return JSON.stringify([e.source?.component, e.source?.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion]);
}
