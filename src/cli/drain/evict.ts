// Evicting (or deleting) a node's Pods the way kubectl drain does
// (k8s.io/kubectl/pkg/drain/drain.go): every Pod at once, each through the
// pods/eviction subresource with a policy/v1 Eviction; an eviction a
// PodDisruptionBudget forbids (429 TooManyRequests) is retried every 5 s,
// and a Pod counts as gone once it is not found or a new Pod (another uid)
// has its name. One deadline, --timeout, covers the whole drain.
import type { Pod } from '../../apis/core/v1/types.js';
import type { KubeClient } from '../../client/client.js';
import { ApiError, isNotFound } from '../../client/errors.js';
import { resourcePath } from '../../client/paths.js';
import { PODS } from '../../client/refs.js';
import { formatGoDuration } from './go-duration.js';
import { sleep } from '../../util/sleep.js';

/** The API calls the eviction loop makes (a fake stands in for it in unit tests). */
export interface PodApi {
  /** POST the Eviction; failures as ApiError. */
  evict(pod: Pod, deleteOptions: Record<string, unknown>): Promise<void>;
  delete(pod: Pod, deleteOptions: Record<string, unknown>): Promise<void>;
  /** The Pod, or undefined when there is none of that name. */
  get(namespace: string, name: string): Promise<Pod | undefined>;
}

export function podApi(client: KubeClient): PodApi {
  return {
    async evict(pod, deleteOptions) {
      const { namespace, name } = pod.metadata;
      await client.requestJson({
        method: 'POST',
        path: resourcePath(PODS, { namespace, name, subresource: 'eviction' }),
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, deleteOptions: { kind: 'DeleteOptions', apiVersion: 'v1', ...deleteOptions } },
      });
    },
    async delete(pod, deleteOptions) {
      await client.delete(PODS, String(pod.metadata.name), {
        namespace: pod.metadata.namespace,
        gracePeriodSeconds: deleteOptions.gracePeriodSeconds as number | undefined,
        dryRun: Boolean(deleteOptions.dryRun),
      });
    },
    async get(namespace, name) {
      try {
        return await client.get<Pod>(PODS, name, { namespace });
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
  };
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export interface EvictOptions {
  /** Seconds; negative = each Pod's own terminationGracePeriodSeconds. */
  gracePeriodSeconds: number;
  /** Delete instead of evict (--disable-eviction): no disruption budget is consulted. */
  disableEviction: boolean;
  /** --dry-run=server: the server checks the request and changes nothing; nothing to wait for. */
  serverDryRun: boolean;
  /** Date.now() value after which the drain gives up; Infinity = never. */
  deadline: number;
  /** --timeout as given, for the messages (ms). */
  timeoutMs: number;
  /** Between attempts of a forbidden eviction; kubectl's 5 s. */
  retryMs?: number;
  /** Between checks of whether a Pod is gone; kubectl's 1 s. */
  pollMs?: number;
}

const isTooManyRequests = (e: unknown): boolean => e instanceof ApiError && (e.code === 429 || e.reason === 'TooManyRequests');
const namespaceTerminating = (e: unknown): boolean =>
  e instanceof ApiError && e.code === 403 && Boolean(e.details?.causes?.some((c) => c.reason === 'NamespaceTerminating'));
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function deleteOptionsOf(o: EvictOptions): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (o.gracePeriodSeconds >= 0) d.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.serverDryRun) d.dryRun = ['All'];
  return d;
}

/**
 * Wait until the Pod is gone (not found, or its name now belongs to another
 * uid), then print "pod/NAME evicted|deleted". Throws kubectl's
 * "drain did not complete within T" once the deadline passes.
 */
async function waitForDelete(api: PodApi, pod: Pod, verb: string, o: EvictOptions, output: Output): Promise<void> {
  const { namespace, name, uid } = pod.metadata;
  for (;;) {
    const now = await api.get(String(namespace), String(name));
    if (!now || now.metadata.uid !== uid) {
      output.out(`pod/${name} ${verb}`);
      return;
    }
    if (Date.now() >= o.deadline) throw new Error(`drain did not complete within ${formatGoDuration(o.timeoutMs)}`);
    await sleep(Math.min(o.pollMs ?? 1000, o.deadline - Date.now()));
  }
}

async function evictOne(api: PodApi, pod: Pod, o: EvictOptions, output: Output): Promise<void> {
  const ns = String(pod.metadata.namespace);
  const name = String(pod.metadata.name);
  const options = deleteOptionsOf(o);
  let active = pod;
  let refresh = false;
  for (;;) {
    output.out(`evicting pod ${ns}/${name}${o.serverDryRun ? ' (server dry run)' : ''}`);
    if (Date.now() >= o.deadline) throw new Error(`error when evicting pods/${JSON.stringify(name)} -n ${JSON.stringify(ns)}: global timeout reached: ${formatGoDuration(o.timeoutMs)}`);
    if (refresh) {
      // The Pod as it is now (a namespace being deleted may have marked it); errors leave the old copy.
      active = (await api.get(ns, name).catch(() => undefined)) ?? active;
      refresh = false;
    }
    try {
      await api.evict(active, options);
      break;
    } catch (e) {
      if (isNotFound(e)) return; // already gone
      if (isTooManyRequests(e)) {
        output.err(`error when evicting pods/${JSON.stringify(name)} -n ${JSON.stringify(ns)} (will retry after 5s): ${messageOf(e)}`);
      } else if (namespaceTerminating(e) && active.metadata.deletionTimestamp) {
        break; // never evictable, but already going: wait for it
      } else if (namespaceTerminating(e)) {
        output.err(`error when evicting pod ${JSON.stringify(name)} from terminating namespace ${JSON.stringify(ns)} (will retry after 5s): ${messageOf(e)}`);
        refresh = true;
      } else {
        throw new Error(`error when evicting pods/${JSON.stringify(name)} -n ${JSON.stringify(ns)}: ${messageOf(e)}`, { cause: e });
      }
      await sleep(Math.min(o.retryMs ?? 5000, o.deadline - Date.now()));
    }
  }
  if (o.serverDryRun) return;
  await waitForDelete(api, pod, 'evicted', o, output);
}

async function deleteOne(api: PodApi, pod: Pod, o: EvictOptions, output: Output): Promise<void> {
  try {
    await api.delete(pod, deleteOptionsOf(o));
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (o.serverDryRun) {
    output.out(`pod/${pod.metadata.name} deleted (server dry run)`);
    return;
  }
  await waitForDelete(api, pod, 'deleted', o, output);
}

/**
 * Evict (or delete) every Pod at once and wait for each to be gone. Resolves
 * with the failures (empty when every Pod went), as kubectl aggregates them.
 */
export async function evictOrDeletePods(api: PodApi, pods: Pod[], o: EvictOptions, output: Output): Promise<string[]> {
  const results = await Promise.allSettled(pods.map((p) => (o.disableEviction ? deleteOne(api, p, o, output) : evictOne(api, p, o, output))));
  return results.flatMap((r) => (r.status === 'rejected' ? [messageOf(r.reason)] : []));
}
