// The node's Service proxy (kube-proxy's job, in nftables): watches Services,
// EndpointSlices and this node's Instances through the API and keeps the
// proxy's part of Lodge's nft table equal to what they ask for. Changes are
// gathered for a few milliseconds and applied together (what adds, then what
// removes: table-programmer.ts), so a thousand Services created at once cost
// one or a few nft runs, and one endpoint change costs one small one.
// Rules stay in the kernel when the agent dies (traffic keeps flowing); a
// restarted proxy reads them back and changes only what differs.
import type { KubeClient } from '../../../client/index.js';
import type { SharedInformers } from '../../../client/shared-informers.js';
import { INSTANCES } from '../../../client/refs.js';
import type { Logger } from '../../../util/log.js';
import { enableHairpin } from './bridge-hairpin.js';
import { desiredRuleset } from './desired-state.js';
import { ENDPOINT_SLICES, SERVICES } from './refs.js';
import { enableRouteLocalnet } from './route-localnet.js';
import { TableProgrammer } from './table-programmer.js';

export interface ServiceProxyOptions {
  client: KubeClient;
  nodeName: string;
  /** Lodge's nft table (inet family), shared with nat.ts. */
  table: string;
  /** The node's bridge (workloads' side). */
  bridge: string;
  log: Logger;
  signal: AbortSignal;
  /** The agent's shared informers (Services and EndpointSlices are followed by the cluster DNS too). */
  informers: SharedInformers;
  /** How long to gather changes before applying them (default 5 ms). */
  debounceMs?: number;
}

export interface ServiceProxy {
  /** Resolves after the first sync following the informers' initial lists. */
  synced: Promise<void>;
  done: Promise<void>;
}

const DEFAULT_DEBOUNCE_MS = 5;
/** After a failed sync: try again this much later (the whole table is read back first). */
const RETRY_MS = 1000;

export async function startServiceProxy(o: ServiceProxyOptions): Promise<ServiceProxy> {
  const log = o.log.child({ component: 'service-proxy', table: o.table });
  const programmer = new TableProgrammer(o.table);
  await enableRouteLocalnet(o.bridge);
  // Ports get hairpin mode where they are made (veth.ts, tap.ts); this once-per-start sweep covers ports made by an
  // older Lodge whose workloads are not re-attached (a few sysfs reads). A failure only costs hairpin for those.
  await enableHairpin(o.bridge).catch((e: Error) => log.warn('bridge ports not all in hairpin mode', { error: e.message }));
  const services = o.informers.for(SERVICES);
  const slices = o.informers.for(ENDPOINT_SLICES);
  const instances = o.informers.for(INSTANCES, { fieldSelector: `status.nodeName=${o.nodeName}` });
  const debounce = o.debounceMs ?? DEFAULT_DEBOUNCE_MS;

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let dirty = false;
  let ready = false;
  let lastConflicts = '';
  let markSynced!: () => void;
  const synced = new Promise<void>((r) => (markSynced = r));

  const syncNow = async (): Promise<void> => {
    if (running) {
      dirty = true;
      return;
    }
    running = true;
    let failed = false;
    try {
      do {
        dirty = false;
        const t0 = performance.now();
        const { ruleset, conflicts } = desiredRuleset({ services: services.list(), endpointSlices: slices.list(), instances: instances.list(), bridge: o.bridge });
        const joined = conflicts.join(', ');
        if (joined && joined !== lastConflicts) log.warn('ports asked for twice; the later claims are not programmed', { conflicts });
        lastConflicts = joined;
        const r = await programmer.sync(ruleset);
        if (r.lines || r.retireLines) log.info('service rules applied', { ...r.stats, lines: r.lines, retireLines: r.retireLines, readBack: r.readBack, ms: Math.round(performance.now() - t0) });
        // Only never-reached leftovers stay when this fails: a sync soon after reads the table back and removes them.
        r.retired.catch((e: Error) => {
          log.warn('old service rules not removed; will read the table back', { error: e.message });
          schedule(RETRY_MS);
        });
      } while (dirty && !o.signal.aborted);
      markSynced();
    } catch (e) {
      programmer.invalidate();
      log.warn('service rules not applied; retrying', { error: (e as Error).message });
      failed = true;
    } finally {
      running = false;
    }
    if (failed) schedule(RETRY_MS);
  };
  const schedule = (ms = debounce): void => {
    if (!ready || o.signal.aborted) return;
    if (running) {
      dirty = true;
      return;
    }
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void syncNow();
    }, ms);
  };
  for (const inf of [services, slices, instances]) inf.addHandlers({ onAdd: () => schedule(), onUpdate: () => schedule(), onDelete: () => schedule() });
  o.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  void Promise.all([services.hasSynced, slices.hasSynced, instances.hasSynced]).then(() => {
    ready = true;
    void syncNow();
  });
  log.info('service proxy started', { node: o.nodeName, bridge: o.bridge });
  return { synced, done: o.informers.done() };
}

/**
 * Start the proxy once the node network is up (its bridge and table exist),
 * retrying while that fails (e.g. no podCIDR yet), in the background.
 */
export function startServiceProxyWhenReady(networkReady: () => Promise<unknown>, o: ServiceProxyOptions): void {
  void (async () => {
    for (let backoff = 200; !o.signal.aborted; backoff = Math.min(backoff * 2, 5000)) {
      try {
        await networkReady();
        await startServiceProxy(o);
        return;
      } catch (e) {
        if (o.signal.aborted) return;
        o.log.warn('service proxy waiting for the node network', { error: (e as Error).message });
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
  })();
}
