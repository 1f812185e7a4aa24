// The agent's side of Networks: an informer and a work queue; each Network is
// made on this node (bridge, NAT) and this node's entry of status.nodes says
// how it stands — the only part of the object this agent writes. Deleted
// Networks are removed from the host (level-triggered: whatever this node
// recorded that no Network names any more goes, also after downtime).
import { DEFAULT_NETWORK, type Network, type NetworkNodeStatus } from '../../apis/lodge/v1alpha1/network.js';
import { isConflict, isNotFound, type KubeClient } from '../../client/index.js';
import { ClientInformer } from '../../client/informer.js';
import { NETWORKS } from '../../client/refs.js';
import { WorkQueue } from '../../controllers/runtime/workqueue.js';
import type { Logger } from '../../util/log.js';
import { formatCidr } from '../network/cidr.js';
import type { NodeNetwork } from '../node-network.js';
import type { NodeNetworks } from './node-networks.js';

const MANAGER = 'lodge-agent';
/** A removal key: not a valid Network name, so it never collides with one. */
const SWEEP = '#sweep';
const RESYNC_MS = 60_000;

export interface NetworksControllerOptions {
  client: KubeClient;
  nodeName: string;
  networks: NodeNetworks;
  /** The Pod network (reported as the default Network's entry). */
  podNetwork?: NodeNetwork;
  /** The Pod network's bridge on this node. */
  podBridge?: string;
  log: Logger;
  signal: AbortSignal;
}

export interface NetworksController {
  informer: ClientInformer;
  /** A Network by name from the cache. */
  get(name: string): Network | undefined;
  done: Promise<void>;
}

export async function startNetworksController(o: NetworksControllerOptions): Promise<NetworksController> {
  const log = o.log.child({ component: 'networks' });
  const informer = new ClientInformer(o.client, NETWORKS, {}, log);
  const queue = new WorkQueue();
  informer.addHandlers({
    onAdd: (n) => queue.add(String(n.metadata.name)),
    onUpdate: (_o, n) => queue.add(String(n.metadata.name)),
    onDelete: () => queue.add(SWEEP),
  });
  const informerDone = informer.run(o.signal);
  await informer.hasSynced;
  const get = (name: string): Network | undefined => informer.cache.get(name) as Network | undefined;

  const sync = async (key: string): Promise<void> => {
    if (key === SWEEP) {
      const removed = await o.networks.removeExcept(new Set(informer.list().map((n) => String(n.metadata.name))));
      if (removed.length) log.info('removed networks that no longer exist', { networks: removed });
      return;
    }
    const n = get(key);
    if (!n || n.metadata.deletionTimestamp) return;
    if (n.spec?.perNode) {
      if (key !== DEFAULT_NETWORK || !o.podNetwork) return;
      const ipam = await o.podNetwork.ready();
      await report(n, { nodeName: o.nodeName, bridge: o.podBridge, subnet: formatCidr(ipam.subnet), gateway: ipam.gateway, ready: true });
      return;
    }
    try {
      const p = await o.networks.ensure(n);
      await report(n, { nodeName: o.nodeName, bridge: p.bridge, subnet: p.subnet, gateway: p.gateway, ready: true });
    } catch (e) {
      await report(n, { nodeName: o.nodeName, ready: false, message: (e as Error).message }).catch(() => undefined);
      throw e;
    }
  };

  /** Write this node's entry when it differs (compare-and-swap on the resourceVersion; a conflict re-reads). */
  const report = async (n: Network, entry: NetworkNodeStatus): Promise<void> => {
    let cur: Network = n;
    for (let attempt = 0; attempt < 5; attempt++) {
      const nodes = cur.status?.nodes ?? [];
      const mine = nodes.find((x) => x.nodeName === o.nodeName);
      if (mine && JSON.stringify(mine) === JSON.stringify(entry)) return;
      const next = [...nodes.filter((x) => x.nodeName !== o.nodeName), entry].sort((a, b) => a.nodeName.localeCompare(b.nodeName));
      try {
        await o.client.update(NETWORKS, { ...cur, status: { ...cur.status, nodes: next } }, { subresource: 'status', fieldManager: MANAGER });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
        cur = await o.client.get<Network>(NETWORKS, String(n.metadata.name));
      }
    }
    throw new Error(`network ${String(n.metadata.name)}: status kept changing under this node's update`);
  };

  queue.add(SWEEP);
  const resync = setInterval(() => {
    for (const n of informer.list()) queue.add(String(n.metadata.name));
    queue.add(SWEEP);
  }, RESYNC_MS);
  resync.unref();
  o.signal.addEventListener('abort', () => {
    clearInterval(resync);
    queue.stop();
  });
  const done = Promise.all([queue.run(sync, (key, err) => log.warn('network sync failed', { network: key, error: (err as Error).message }), 2), informerDone]).then(() => undefined);
  return { informer, get, done };
}
