// What the instance verbs share: size flags in the units people type
// (1GiB, 512MiB) as well as Kubernetes quantities, reading an Instance by
// name with a clear error, and waiting for a state reported by its agent.
import { InvalidArgumentError } from 'commander';
import { isQuantity } from '../apis/core/v1/quantity.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeClient } from '../client/client.js';
import { isNotFound } from '../client/errors.js';
import { INSTANCES } from '../client/refs.js';

/** "1GiB" → "1Gi", "500MB" → "500M", "2G"/"1.5Gi"/"1073741824" unchanged; else an error naming the flag's value. */
export function parseSize(value: string): string {
  const v = value.trim();
  const m = /^(\d+(?:\.\d+)?)\s*([kKMGTPE])(i?)B$/.exec(v);
  const q = m ? `${m[1]}${m[2] === 'K' && !m[3] ? 'k' : m[2] === 'k' && m[3] ? 'K' : m[2]}${m[3]}` : v;
  if (!isQuantity(q)) throw new InvalidArgumentError(`invalid size "${value}": use e.g. 512MiB, 1GiB, 4Gi or 2G`);
  return q;
}

export function parseCpus(value: string): string {
  if (!isQuantity(value.trim()) || Number.isNaN(Number.parseFloat(value))) throw new InvalidArgumentError(`invalid cpu count "${value}": use e.g. 1, 2 or 500m`);
  return value.trim();
}

export async function getInstance(client: KubeClient, namespace: string, name: string): Promise<Instance> {
  try {
    return await client.get<Instance>(INSTANCES, name, { namespace });
  } catch (e) {
    if (isNotFound(e)) throw new Error(`instance "${name}" not found in namespace "${namespace}" (lodge list shows the instances)`);
    throw e;
  }
}

export const stateOf = (i: Instance): string => i.status?.state || i.status?.phase || 'Pending';

/**
 * Poll the Instance until done(i) holds. Polls rather than watches: a state
 * written between a GET and a watch cannot be missed, and these waits are
 * seconds long. A Failed phase ends the wait early with the agent's reason.
 */
export async function waitForInstance(client: KubeClient, namespace: string, name: string, what: string, done: (i: Instance) => boolean, timeoutMs: number): Promise<Instance> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let last: Instance | undefined;
  for (;;) {
    last = await getInstance(client, namespace, name);
    if (done(last)) return last;
    if (last.status?.phase === 'Failed') {
      throw new Error(`instance "${name}" failed: ${last.status.reason ?? 'Failed'}${last.status.message ? `: ${last.status.message}` : ''}`);
    }
    if (Date.now() > deadline) {
      const st = last.status;
      throw new Error(`timed out waiting for instance "${name}" to be ${what}; it is ${stateOf(last)}${st?.reason ? ` (${st.reason}${st.message ? `: ${st.message}` : ''})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
