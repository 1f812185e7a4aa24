// Node: a host that runs pods and instances, registered and kept up to date
// by its node agent.
import { ageColumn, column } from '../../columns.js';
import { arr, bool, freeform, int32, int64, obj, str, time, enumOf, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition } from '../../meta/v1.js';
import { duplicate, invalid, notSupported, required } from './field-errors.js';
import { check, labelValue, qualifiedName } from './name-validation.js';
import { atomicList, core, coreGVK, coreRef } from './names.js';
import { resourceList } from './resources.js';
import { TAINT_EFFECTS } from './scheduling.js';
import type { NodeSpec, NodeStatus } from './types.js';

type Node = KubeObject & {
  spec?: NodeSpec;
  status?: NodeStatus;
};

export const nodeDefinitions: Record<string, Schema> = {
  [core('Taint')]: obj(
    {
      key: str('Taint key.'),
      value: str('Taint value.'),
      effect: enumOf([...TAINT_EFFECTS], 'What happens to pods that do not tolerate it.'),
      timeAdded: time('When a NoExecute taint was added.'),
    },
    { required: ['key', 'effect'], description: 'Repels pods that do not tolerate it.' },
  ),
  [core('NodeSpec')]: obj(
    {
      podCIDR: str('IP range for the pods of this node.'),
      podCIDRs: arr(str(), { listType: 'set', patchStrategy: 'merge', description: 'IP ranges for the pods of this node, one per family.' }),
      providerID: str('ID of the machine at its infrastructure provider.'),
      unschedulable: bool('Keep new pods and instances off this node (cordon).'),
      taints: atomicList(coreRef('Taint'), 'Taints of the node.'),
      configSource: freeform('Deprecated dynamic kubelet configuration (kept as sent).'),
      externalID: str('Deprecated.'),
    },
    { description: 'Desired state of a node.' },
  ),
  [core('NodeCondition')]: obj(
    {
      type: str('Ready, MemoryPressure, DiskPressure, PIDPressure, NetworkUnavailable, ...'),
      status: enumOf(['True', 'False', 'Unknown'], 'Whether it holds.'),
      lastHeartbeatTime: time('When the agent last confirmed it.'),
      lastTransitionTime: time('When it last changed.'),
      reason: str('CamelCase reason.'),
      message: str('Details.'),
    },
    { required: ['type', 'status'], description: 'One aspect of a node\'s state.' },
  ),
  [core('NodeAddress')]: obj(
    { type: str('Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.'), address: str('The address.') },
    { required: ['type', 'address'], description: 'An address of a node.' },
  ),
  [core('DaemonEndpoint')]: obj({ Port: int32('Port number.') }, { required: ['Port'], description: 'Port of a daemon on the node.' }),
  [core('NodeDaemonEndpoints')]: obj(
    { kubeletEndpoint: coreRef('DaemonEndpoint', 'Where the node agent listens.') },
    { description: 'Ports of daemons on the node.' },
  ),
  [core('NodeSwapStatus')]: obj({ capacity: int64('Swap size in bytes.') }, { description: 'Swap memory of a node.' }),
  [core('NodeSystemInfo')]: obj(
    {
      machineID: str('Machine ID (/etc/machine-id).'),
      systemUUID: str('System UUID from the firmware.'),
      bootID: str('ID of the current boot.'),
      kernelVersion: str('Kernel version (uname -r).'),
      osImage: str('OS description from /etc/os-release.'),
      containerRuntimeVersion: str('Container runtime and version, e.g. runc://1.1.12.'),
      kubeletVersion: str('Version of the node agent.'),
      kubeProxyVersion: str('Deprecated: version of the service proxy.'),
      operatingSystem: str('linux or windows.'),
      architecture: str('CPU architecture, e.g. amd64.'),
      swap: coreRef('NodeSwapStatus', 'Swap memory.'),
    },
    {
      required: ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage', 'containerRuntimeVersion', 'kubeletVersion', 'operatingSystem', 'architecture'],
      description: 'Identity and versions of a node\'s system.',
    },
  ),
  [core('ContainerImage')]: obj(
    { names: atomicList(str(), 'Names (tags and digests) of the image.'), sizeBytes: int64('Size in bytes.') },
    { description: 'An image present on a node.' },
  ),
  [core('AttachedVolume')]: obj(
    { name: str('Name of the volume.'), devicePath: str('Where it is attached.') },
    { required: ['name', 'devicePath'], description: 'A volume attached to a node.' },
  ),
  [core('NodeRuntimeHandlerFeatures')]: obj(
    { recursiveReadOnlyMounts: bool('Supports recursive read-only mounts.'), userNamespaces: bool('Supports user namespaces.') },
    { description: 'Features of a runtime handler.' },
  ),
  [core('NodeRuntimeHandler')]: obj(
    { name: str('Handler name; empty for the default.'), features: coreRef('NodeRuntimeHandlerFeatures', 'Its features.') },
    { description: 'A runtime handler of the node.' },
  ),
  [core('NodeFeatures')]: obj({ supplementalGroupsPolicy: bool('Supports supplementalGroupsPolicy.') }, { description: 'Features the node supports.' }),
  [core('NodeStatus')]: obj(
    {
      capacity: resourceList('Total resources of the node.'),
      allocatable: resourceList('Resources available to pods and instances.'),
      phase: str('Deprecated; unused.'),
      conditions: arr(coreRef('NodeCondition'), { mergeKey: 'type', description: 'Current conditions of the node.' }),
      addresses: arr(coreRef('NodeAddress'), { mergeKey: 'type', description: 'Addresses of the node.' }),
      daemonEndpoints: coreRef('NodeDaemonEndpoints', 'Ports of daemons on the node.'),
      nodeInfo: coreRef('NodeSystemInfo', 'System identity and versions.'),
      images: atomicList(coreRef('ContainerImage'), 'Images present on the node.'),
      volumesInUse: atomicList(str(), 'Volumes in use (mounted).'),
      volumesAttached: atomicList(coreRef('AttachedVolume'), 'Volumes attached.'),
      config: freeform('Dynamic configuration status (kept as sent).'),
      runtimeHandlers: atomicList(coreRef('NodeRuntimeHandler'), 'Runtime handlers available.'),
      features: coreRef('NodeFeatures', 'Features supported.'),
    },
    { description: 'Observed state of a node, written by its agent.' },
  ),
  [core('Node')]: kindDefinition(coreGVK('Node'), 'A host that runs pods and instances.', {
    spec: coreRef('NodeSpec', 'Desired state of the node.'),
    status: coreRef('NodeStatus', 'Observed state of the node.'),
  }),
};

const asNode = (o: KubeObject): Node => o as Node;

function nodeStatus(n: Node): string {
  const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  // As kubectl prints it: any Ready condition that is not True (False or Unknown) is NotReady; none at all is Unknown.
  let s = !ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  if (n.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

const ROLE_PREFIX = 'node-role.kubernetes.io/';

export function nodeRoles(n: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX) && k.length > ROLE_PREFIX.length) roles.add(k.slice(ROLE_PREFIX.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

const address = (n: Node, type: string): string => n.status?.addresses?.find((a) => a.type === type)?.address || '<none>';

function validateTaints(spec: NodeSpec | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (spec?.taints ?? []).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!t.key) errs.push(required(`${p}.key`));
    else errs.push(...check(`${p}.key`, t.key, qualifiedName));
    if (t.value) errs.push(...check(`${p}.value`, t.value, labelValue));
    if (t.effect && !(TAINT_EFFECTS as readonly string[]).includes(t.effect)) errs.push(notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const k = `${t.key}:${t.effect}`;
    if (seen.has(k)) errs.push(duplicate(p, `${t.key}:${t.effect}`));
    seen.add(k);
  });
  if (spec?.podCIDR && spec.podCIDRs?.length && spec.podCIDRs[0] !== spec.podCIDR)
    errs.push(invalid('spec.podCIDRs', spec.podCIDRs, 'the first entry must equal spec.podCIDR'));
  return errs;
}

export const node: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  definition: core('Node'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Status', 'Ready, NotReady or Unknown; SchedulingDisabled when cordoned.', (o) => nodeStatus(asNode(o))),
    column('Roles', 'Roles from node-role.kubernetes.io/<role> labels.', (o) => nodeRoles(asNode(o))),
    ageColumn,
    column('Version', 'Version of the node agent.', (o) => asNode(o).status?.nodeInfo?.kubeletVersion ?? ''),
    column('Internal-IP', 'First internal IP.', (o) => address(asNode(o), 'InternalIP'), { priority: 1 }),
    column('External-IP', 'First external IP.', (o) => address(asNode(o), 'ExternalIP'), { priority: 1 }),
    column('OS-Image', 'Operating system.', (o) => asNode(o).status?.nodeInfo?.osImage || '<unknown>', { priority: 1 }),
    column('Kernel-Version', 'Kernel version.', (o) => asNode(o).status?.nodeInfo?.kernelVersion || '<unknown>', { priority: 1 }),
    column('Container-Runtime', 'Container runtime and version.', (o) => asNode(o).status?.nodeInfo?.containerRuntimeVersion || '<unknown>', { priority: 1 }),
  ],
  selectableFields: {
    'spec.unschedulable': (o) => String(asNode(o).spec?.unschedulable === true),
  },
  validate(o) {
    return validateTaints(asNode(o).spec);
  },
  describe(o) {
    const n = asNode(o);
    const st = n.status ?? {};
    const lines = [
      `Roles:              ${nodeRoles(n)}`,
      `Unschedulable:      ${n.spec?.unschedulable === true}`,
      `Taints:             ${(n.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ') || '<none>'}`,
      'Conditions:',
      ...(st.conditions ?? []).map((c) => `  ${(c.type ?? '').padEnd(20)}${(c.status ?? '').padEnd(8)}${c.reason ?? ''}`),
      'Addresses:',
      ...(st.addresses ?? []).map((a) => `  ${a.type}: ${a.address}`),
      'Capacity:',
      ...Object.entries(st.capacity ?? {}).map(([k, v]) => `  ${k}: ${v}`),
      'Allocatable:',
      ...Object.entries(st.allocatable ?? {}).map(([k, v]) => `  ${k}: ${v}`),
    ];
    if (st.nodeInfo) {
      lines.push('System Info:');
      lines.push(`  Kernel Version:     ${st.nodeInfo.kernelVersion ?? ''}`);
      lines.push(`  OS Image:           ${st.nodeInfo.osImage ?? ''}`);
      lines.push(`  Architecture:       ${st.nodeInfo.architecture ?? ''}`);
      lines.push(`  Container Runtime:  ${st.nodeInfo.containerRuntimeVersion ?? ''}`);
      lines.push(`  Agent Version:      ${st.nodeInfo.kubeletVersion ?? ''}`);
    }
    return lines;
  },
};
