// Network: a bridged L2 network that Instances join (spec.networks[].network),
// as Incus' bridge networks: each node's agent makes a Linux bridge carrying
// the gateway (the subnet's first address), hands out addresses from the
// subnet and, with nat, masquerades traffic leaving it. Cluster-scoped: a
// host resource, like a StoragePool.
//
// The network named "default" is the Pod network: its subnet is the cluster
// CIDR and perNode splits it, each node taking its Node.spec.podCIDR. The
// control plane creates it; it cannot be deleted.
import { ageColumn, column } from '../../columns.js';
import { arr, bool, int32, obj, str, enumOf, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ObjectLookup, ResourceType } from '../../types.js';
import { jsonEqual } from '../../core/v1/equality.js';
import { forbidden, invalid, required } from '../../core/v1/field-errors.js';
import { conditionList, kindDefinition } from '../../meta/v1.js';
import { GROUP, VERSION, lodge, lodgeGVK, lodgeRef } from './names.js';
import type { Instance } from './instance-types.js';

export const DEFAULT_NETWORK = 'default';
/** Names go into interface and nft table names: short labels only. */
export const MAX_NETWORK_NAME = 32;

export type NetworkSpec = { type?: 'bridge'; subnet?: string; perNode?: boolean; nat?: boolean; bridge?: string; mtu?: number; description?: string };
export type NetworkNodeStatus = { nodeName: string; bridge?: string; subnet?: string; gateway?: string; ready?: boolean; message?: string };
export type Network = KubeObject & { spec?: NetworkSpec; status?: { nodes?: NetworkNodeStatus[] } };

export const networkDefinitions: Record<string, Schema> = {
  [lodge('NetworkSpec')]: obj(
    {
      type: enumOf(['bridge'], 'Kind of network. bridge: a Linux bridge on each node.', { default: 'bridge' }),
      subnet: str('IPv4 subnet in CIDR form, e.g. 10.100.1.0/24; the first address is the gateway on the bridge.'),
      perNode: bool('Split the subnet into one /24 per node (the Pod network). Otherwise each node bridges the whole subnet.', { default: false }),
      nat: bool('Masquerade traffic from the subnet that leaves the node.', { default: true }),
      bridge: str('Name of the Linux bridge on each node; default lodge-NAME, or ln + a hash when that is too long.'),
      mtu: int32('MTU of the bridge and the interfaces joined to it; the kernel default when unset.'),
      description: str('Free-form note.'),
    },
    { required: ['subnet'], description: 'Desired state of a network.' },
  ),
  [lodge('NetworkNodeStatus')]: obj(
    {
      nodeName: str('The node.'),
      bridge: str('The bridge on that node.'),
      subnet: str("The node's part of the subnet."),
      gateway: str('The gateway address on the bridge.'),
      ready: bool('Whether the bridge (and NAT) are in place.'),
      message: str('Why not, when not ready.'),
    },
    { required: ['nodeName'], description: 'The network on one node, written by its agent.' },
  ),
  [lodge('NetworkStatus')]: obj(
    {
      nodes: arr(lodgeRef('NetworkNodeStatus'), { description: 'Per node.', mergeKey: 'nodeName' }),
      conditions: conditionList('Not used yet.'),
    },
    { description: 'Observed state of a network.' },
  ),
  [lodge('Network')]: kindDefinition(lodgeGVK('Network'), 'A bridged network that instances join.', {
    spec: lodgeRef('NetworkSpec', 'The network.'),
    status: lodgeRef('NetworkStatus', 'Observed state of the network.'),
  }),
};

const asNetwork = (o: KubeObject): Network => o as Network;

/** "a.b.c.d/len" with a host part of zero, as a [network, length] pair; undefined when malformed. */
export function parseIpv4Cidr(s: string): { net: number; len: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (octets.some((o) => o > 255) || len > 32) return undefined;
  const net = octets.reduce((a, o) => a * 256 + o, 0);
  return { net, len };
}

/** The bridge a network gets on a node when spec.bridge is unset (an interface name: at most 15 characters). */
export function defaultBridgeName(name: string): string {
  if (`lodge-${name}`.length <= 15) return `lodge-${name}`;
  let h = 0x811c9dc5;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return `ln${h.toString(16).padStart(8, '0')}`;
}

function validateNetwork(n: Network, old?: Network): FieldError[] {
  const errs: FieldError[] = [];
  const name = String(n.metadata.name ?? '');
  if (name.length > MAX_NETWORK_NAME) errs.push(invalid('metadata.name', name, `must be no more than ${MAX_NETWORK_NAME} characters`));
  const spec = n.spec;
  if (!spec) return [...errs, required('spec')];
  if (spec.subnet === undefined) errs.push(required('spec.subnet'));
  else {
    const c = parseIpv4Cidr(spec.subnet);
    if (!c) errs.push(invalid('spec.subnet', spec.subnet, 'must be an IPv4 subnet in CIDR form, e.g. 10.100.1.0/24'));
    else {
      const hostBits = 32 - c.len;
      if (c.net % 2 ** hostBits !== 0) errs.push(invalid('spec.subnet', spec.subnet, 'must have a zero host part (the network address)'));
      if (spec.perNode ? c.len > 24 : c.len > 30) errs.push(invalid('spec.subnet', spec.subnet, spec.perNode ? 'must be /24 or larger to give each node a /24' : 'must be /30 or larger'));
      if (c.len < 8) errs.push(invalid('spec.subnet', spec.subnet, 'must be /8 or smaller'));
      if (c.net >>> 24 === 127 || c.net >>> 28 >= 14) errs.push(invalid('spec.subnet', spec.subnet, 'must not be loopback, multicast or reserved'));
    }
  }
  if (spec.bridge !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(spec.bridge)) errs.push(invalid('spec.bridge', spec.bridge, 'must be an interface name: 1-15 of [A-Za-z0-9_.-]'));
  if (spec.mtu !== undefined && (spec.mtu < 576 || spec.mtu > 65535)) errs.push(invalid('spec.mtu', spec.mtu, 'must be between 576 and 65535'));
  if (old?.spec) {
    // Workloads hold addresses of the subnet on that bridge: changing either under them would cut them off.
    const { description: _a, ...now } = spec;
    const { description: _b, ...before } = old.spec;
    if (!jsonEqual(now, before)) errs.push(forbidden('spec', 'may not change except `description`; create a new network instead'));
  }
  return errs;
}

/** Instances that have an interface on the network: it cannot go while they do. */
async function instancesOn(o: KubeObject, lookup: ObjectLookup): Promise<string[]> {
  const name = String(o.metadata.name);
  const users: string[] = [];
  for (const i of (await lookup.list(GROUP, VERSION, 'instances')) as Instance[]) {
    if ((i.spec?.networks ?? []).some((n) => (n.network ?? DEFAULT_NETWORK) === name)) users.push(`instance ${i.metadata.namespace}/${i.metadata.name}`);
  }
  return users;
}

const nodesReady = (n: Network): string => {
  const nodes = n.status?.nodes ?? [];
  return `${nodes.filter((x) => x.ready).length}/${nodes.length}`;
};

export const network: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: 'Network',
  plural: 'networks',
  singular: 'network',
  shortNames: ['net'],
  categories: ['lodge'],
  namespaced: false,
  nameFormat: 'dns1123-label',
  definition: lodge('Network'),
  statusSubresource: true,
  strategicMergePatch: false,
  columns: [
    column('Type', 'Kind of network.', (o) => asNetwork(o).spec?.type ?? 'bridge'),
    column('Subnet', 'The subnet (split per node for the Pod network).', (o) => asNetwork(o).spec?.subnet ?? ''),
    column('NAT', 'Whether traffic leaving the node is masqueraded.', (o) => asNetwork(o).spec?.nat !== false, { type: 'boolean' }),
    column('Nodes', 'Nodes where it is ready / that report it.', (o) => nodesReady(asNetwork(o))),
    ageColumn,
    column('Bridge', 'The bridge on each node.', (o) => asNetwork(o).spec?.bridge ?? (asNetwork(o).status?.nodes?.[0]?.bridge || defaultBridgeName(String(o.metadata.name))), { priority: 1 }),
    column('Description', 'Free-form note.', (o) => asNetwork(o).spec?.description ?? '', { priority: 1 }),
  ],
  validate(o, old) {
    return validateNetwork(asNetwork(o), old && asNetwork(old));
  },
  deletion: {
    protectedNames: [DEFAULT_NETWORK],
    inUseBy: instancesOn,
  },
  describe(o) {
    const n = asNetwork(o);
    return [
      `Type:       ${n.spec?.type ?? 'bridge'}`,
      `Subnet:     ${n.spec?.subnet ?? ''}${n.spec?.perNode ? ' (a /24 per node)' : ''}`,
      `NAT:        ${n.spec?.nat !== false}`,
      `MTU:        ${n.spec?.mtu ?? '<kernel default>'}`,
      ...(n.spec?.description ? [`Description: ${n.spec.description}`] : []),
      'Nodes:',
      ...(n.status?.nodes ?? []).map((x) => `  ${x.nodeName}: ${x.bridge ?? ''} ${x.subnet ?? ''} gateway ${x.gateway ?? ''} ${x.ready ? 'ready' : `not ready${x.message ? `: ${x.message}` : ''}`}`),
    ];
  },
};
