// An Instance's interfaces, from spec.networks: each on the default (Pod)
// network or on a user Network, in order. The first interface is the primary
// one: the default route (and a VM's resolver) go through it. A system
// container gets a veth per interface in its namespace; a VM a tap per
// interface (its NICs, found by MAC in the guest). What cannot be made is an
// InstanceNotReadyError naming the field, never silently dropped.
import type { Instance, InstanceStatus } from '../../apis/lodge/v1alpha1/instance-types.js';
import { DEFAULT_NETWORK, type Network } from '../../apis/lodge/v1alpha1/network.js';
import { IpamRequestError } from '../network/ipam.js';
import type { NodeNetworks } from '../networks/node-networks.js';
import type { NodeNetwork, TapAddress, WorkloadAddress } from '../node-network.js';
import { InstanceNotReadyError } from './container-instance.js';

export interface InstanceNetworking {
  /** The default (Pod) network on this node; none: lodge up --no-network. */
  pod?: NodeNetwork;
  /** The user's Networks on this node. */
  user?: NodeNetworks;
  /** A Network object by name (the agent's informer cache). */
  network(name: string): Network | undefined;
}

export interface InterfacePlan {
  /** spec.networks[index], for messages naming the field. */
  index: number;
  name: string;
  network: string;
  macAddress?: string;
  ipAddress?: string;
  /** The first interface: the default route goes through it. */
  primary: boolean;
}

/** The interfaces the spec asks for (eth0 on the default network when spec.networks is unset, as admission defaults it; none for []). */
export function interfacesOf(i: Instance): InterfacePlan[] {
  const nets = i.spec?.networks ?? [{ name: 'eth0', network: DEFAULT_NETWORK }];
  return nets.map((n, index) => ({
    index,
    name: n.name ?? `eth${index}`,
    network: n.network ?? DEFAULT_NETWORK,
    ...(n.macAddress ? { macAddress: n.macAddress } : {}),
    ...(n.ipAddress ? { ipAddress: n.ipAddress } : {}),
    primary: index === 0,
  }));
}

/** Whether the Instance has any interface (else it is loopback only). */
export function hasInterfaces(i: Instance): boolean {
  return interfacesOf(i).length > 0;
}

/** What a node cannot make, whatever the state of its networks: refused before anything is attached. */
export function checkInterfaces(i: Instance): InterfacePlan[] {
  const plans = interfacesOf(i);
  const onDefault = plans.filter((p) => p.network === DEFAULT_NETWORK);
  // The Pod network's address is kept per instance (uid): one interface there.
  if (onDefault.length > 1) throw new InstanceNotReadyError('NetworkNotSupported', `spec.networks[${onDefault[1]!.index}].network: only one interface may be on the "${DEFAULT_NETWORK}" network`);
  if (i.spec?.type !== 'vm') {
    // A container's Pod-network veth is made as eth0 with the default route: the first interface.
    const d = onDefault[0];
    if (d && (!d.primary || d.name !== 'eth0')) throw new InstanceNotReadyError('NetworkNotSupported', `spec.networks[${d.index}]: a system container's interface on the "${DEFAULT_NETWORK}" network must be the first one and named eth0`);
  }
  return plans;
}

function userNetwork(d: InstanceNetworking, plan: InterfacePlan): Network {
  const n = d.network(plan.network);
  if (!n || !d.user) throw new InstanceNotReadyError('NetworkNotFound', `spec.networks[${plan.index}].network: network "${plan.network}" does not exist (lodge network ls)`);
  if (n.spec?.perNode) throw new InstanceNotReadyError('NetworkNotSupported', `spec.networks[${plan.index}].network: "${plan.network}" is split per node; only "${DEFAULT_NETWORK}" is such a network`);
  return n;
}

/** A requested address that cannot be given is the spec's problem: said in status, naming the field. */
async function asked<T>(plan: InterfacePlan, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof IpamRequestError) throw new InstanceNotReadyError('InvalidIPAddress', `spec.networks[${plan.index}].ipAddress: ${e.message}`);
    if (e instanceof InstanceNotReadyError) throw e;
    throw new InstanceNotReadyError('NetworkSetupFailed', `spec.networks[${plan.index}] (${plan.name} on ${plan.network}): ${(e as Error).message}`);
  }
}

/** Plug a system container's namespace into every network it asks for. */
export async function attachContainerNetworks(i: Instance, netns: string, d: InstanceNetworking): Promise<void> {
  const uid = String(i.metadata.uid);
  for (const plan of checkInterfaces(i)) {
    if (plan.network === DEFAULT_NETWORK) {
      if (d.pod) await asked(plan, () => d.pod!.attach(uid, netns, { ip: plan.ipAddress, mac: plan.macAddress }));
    } else {
      const n = userNetwork(d, plan);
      await asked(plan, () => d.user!.attach(n, uid, plan.name, netns, { defaultRoute: plan.primary, mac: plan.macAddress, ip: plan.ipAddress }));
    }
  }
}

/** Taps for a VM's NICs, in the order of its interfaces. */
export async function attachVmNetworks(i: Instance, d: InstanceNetworking): Promise<TapAddress[]> {
  const uid = String(i.metadata.uid);
  const out: TapAddress[] = [];
  for (const plan of checkInterfaces(i)) {
    if (plan.network === DEFAULT_NETWORK) {
      if (d.pod) out.push(await asked(plan, () => d.pod!.attachTap(uid, { mac: plan.macAddress, ip: plan.ipAddress, interfaceName: plan.name })));
    } else {
      const n = userNetwork(d, plan);
      out.push(await asked(plan, () => d.user!.attachTap(n, uid, plan.name, { mac: plan.macAddress, ip: plan.ipAddress })));
    }
  }
  return out;
}

type Found = WorkloadAddress & { network: string };

/** status.ip/ips/interfaces from what the interfaces hold now (nothing is attached here); `complete` when every interface has its address. */
export async function interfaceStatus(i: Instance, d: InstanceNetworking): Promise<{ status: Pick<InstanceStatus, 'ip' | 'ips' | 'interfaces'>; complete: boolean }> {
  const uid = String(i.metadata.uid);
  const vm = i.spec?.type === 'vm';
  const found: Found[] = [];
  const plans = interfacesOf(i);
  for (const plan of plans) {
    const a: Found | undefined =
      plan.network === DEFAULT_NETWORK
        ? await d.pod?.addressOf(uid, { tap: vm, mac: plan.macAddress, interfaceName: plan.name }).then((x) => x && { ...x, network: DEFAULT_NETWORK })
        : await d.user?.addressOf(plan.network, uid, plan.name, { tap: vm, mac: plan.macAddress });
    if (a) found.push(a);
  }
  const complete = found.length === plans.length;
  if (!found.length) return { status: {}, complete };
  return {
    status: {
      ip: found[0]!.ip,
      ips: found.map((a) => a.ip),
      interfaces: found.map((a) => ({ name: a.interfaceName, network: a.network, macAddress: a.mac, ips: [a.ip], hostInterface: a.hostInterface })),
    },
    complete,
  };
}

/** Unplug everything and give every address back. Idempotent. */
export async function releaseNetworks(uid: string, d: InstanceNetworking): Promise<void> {
  await d.pod?.release(uid);
  await d.user?.release(uid);
}
