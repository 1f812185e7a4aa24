// How a controller that owns Pods through expectations (ReplicaSet,
// DaemonSet) follows them, as Kubernetes' controllers do: a Pod seen or
// deleted settles its owner's expectations and queues the owner; a Pod that
// changes owner queues both; an orphan whose labels change may now be
// adopted, so the owners whose selectors match it are queued.
import { jsonEqual } from '../apis/core/v1/equality.js';
import type { KubeObject } from '../apis/types.js';
import type { InformerHandlers } from '../client/informer-cache.js';
import type { Expectations } from './replicaset/expectations.js';
import { controllerOf } from './replicaset/pods.js';

export interface OwnedPodEvents {
  /** The owner's queue key, when the Pod's controller is one of this controller's objects. */
  ownerKey(pod: KubeObject): string | undefined;
  enqueue(key: string): void;
  /** Queue every owner whose selector matches an orphan Pod. */
  enqueueMatching(pod: KubeObject): void;
  expectations: Pick<Expectations, 'creationObserved' | 'deletionObserved'>;
}

export function ownedPodHandlers(o: OwnedPodEvents): InformerHandlers {
  const podDeleted = (p: KubeObject): void => {
    const key = o.ownerKey(p);
    if (!key) return;
    o.expectations.deletionObserved(key, p.metadata.uid as string);
    o.enqueue(key);
  };
  return {
    onAdd: (p) => {
      const key = o.ownerKey(p);
      if (key) {
        o.expectations.creationObserved(key);
        if (p.metadata.deletionTimestamp) o.expectations.deletionObserved(key, p.metadata.uid as string);
        o.enqueue(key);
      } else if (!controllerOf(p)) o.enqueueMatching(p);
    },
    onUpdate: (old, p) => {
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) return podDeleted(p);
      const key = o.ownerKey(p);
      const oldKey = o.ownerKey(old);
      if (key) o.enqueue(key);
      if (oldKey && oldKey !== key) o.enqueue(oldKey);
      if (!controllerOf(p) && !jsonEqual(old.metadata.labels ?? {}, p.metadata.labels ?? {})) o.enqueueMatching(p);
    },
    onDelete: podDeleted,
  };
}
