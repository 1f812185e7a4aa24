// The status an agent reports for an Instance on its node, written only
// through the status subresource (DESIGN.md: status is written by the owner
// of the state). One function builds the whole status from what was
// observed, so every write is complete and level-triggered.
import type { KubeObject } from '../../apis/types.js';
import type { Instance, InstanceStatus } from '../../apis/lodge/v1alpha1/instance-types.js';
import type { KubeClient } from '../../client/index.js';
import { INSTANCES } from '../../client/refs.js';
import { rfc3339 } from '../../api/resources/clock.js';
import { hasStatus } from '../../client/errors.js';

export const MANAGER = 'lodge-agent';

export type Phase = 'Scheduled' | 'Starting' | 'Running' | 'Stopping' | 'Stopped' | 'Paused' | 'Failed';

export interface Observed {
  phase: Phase;
  /** Exact runtime state; the phase when unset. */
  state?: string;
  reason?: string;
  message?: string;
  startedAt?: string;
  restartCount: number;
  imageDigest?: string;
  accelerator?: string;
}

type Condition = NonNullable<InstanceStatus['conditions']>[number] & { lastTransitionTime?: string };


export function buildStatus(i: Instance, nodeName: string, o: Observed): InstanceStatus {
  const old = i.status ?? {};
  const now = rfc3339();
  const oldConds = (old.conditions ?? []) as Condition[];
  const cond = (type: string, ok: boolean, reason?: string, message?: string): Condition => {
    const status = ok ? 'True' : 'False';
    const was = oldConds.find((c) => c.type === type);
    return {
      type,
      status,
      lastTransitionTime: was?.status === status && was.lastTransitionTime ? was.lastTransitionTime : now,
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    };
  };
  const ready = o.phase === 'Running';
  const status: InstanceStatus & { imageDigest?: string } = {
    observedGeneration: i.metadata.generation,
    phase: o.phase,
    state: o.state ?? o.phase,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.message ? { message: o.message } : {}),
    nodeName,
    ...(old.ip ? { ip: old.ip } : {}),
    ...(old.ips ? { ips: old.ips } : {}),
    accelerator: o.accelerator ?? (i.spec?.type === 'vm' ? undefined : 'none'),
    ...(o.imageDigest ? { imageDigest: o.imageDigest } : {}),
    ...(o.startedAt ? { startedAt: o.startedAt } : {}),
    restartCount: o.restartCount,
    conditions: [cond('Scheduled', true, 'Bound', `bound to node ${nodeName}`), cond('Ready', ready, ready ? 'Running' : (o.reason ?? o.phase), ready ? undefined : o.message)],
  };
  if (status.accelerator === undefined) delete status.accelerator;
  return status;
}

/** Write the status when it changed; a gone or replaced Instance is left to the next sync. */
export async function writeStatus(client: KubeClient, i: Instance, status: InstanceStatus): Promise<void> {
  if (JSON.stringify(status) === JSON.stringify(i.status ?? {})) return;
  const body: KubeObject = { ...i, metadata: { ...i.metadata }, status } as KubeObject;
  delete body.metadata.resourceVersion;
  try {
    await client.update(INSTANCES, body, { fieldManager: MANAGER, subresource: 'status' });
  } catch (e) {
    if (!hasStatus(e, 404, 409)) throw new Error(`instance ${i.metadata.namespace}/${i.metadata.name}: cannot write status: ${(e as Error).message}`);
  }
}
