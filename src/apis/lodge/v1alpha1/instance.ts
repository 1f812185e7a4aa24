// Instance: the kind descriptor (columns, defaults, validation hooks).
import { ageColumn, column } from '../../columns.js';
import type { KubeObject, ObjectLookup, ResourceType } from '../../types.js';
import { invalid } from '../../core/v1/field-errors.js';
import type { Instance, InstanceSpec } from './instance-types.js';
import { validateInstanceSpec, validateInstanceUpdate } from './instance-validation.js';
import { GROUP, VERSION, lodge } from './names.js';

const asInstance = (o: KubeObject): Instance => o as Instance;

export type SizeField = 'cpu' | 'memory';

/**
 * Which of spec.cpu/spec.memory the built-in defaults below filled in, per
 * spec object. LimitRange admission runs after these defaults (it is an
 * allocator: after validation, before the write) and must let a namespace's
 * LimitRange default win over Lodge's own, yet keep a value the user wrote
 * even when it equals Lodge's. Remembering it beside the object, not in it,
 * stores nothing extra. (Moving the built-in default after the limit ranger
 * instead would leave it out of every write the limit ranger does not see —
 * updates, a control plane without quota admission — and out of the VM
 * size validation, which must see the value the VM will get.)
 */
const defaultedSizes = new WeakMap<object, ReadonlySet<SizeField>>();

/** The size fields of `spec` that hold Lodge's built-in default, not a value the writer sent. */
export function sizesDefaultedByLodge(spec: InstanceSpec | undefined): ReadonlySet<SizeField> {
  return (spec && defaultedSizes.get(spec)) ?? new Set();
}

/** Sizes and timeouts by type: Incus's defaults for VMs; containers share the host unless limited. */
export function applyInstanceDefaults(spec: InstanceSpec | undefined): void {
  if (!spec) return;
  spec.type ??= 'container';
  spec.runStrategy ??= 'Always';
  spec.networks ??= [{ name: 'eth0', network: 'default' }];
  for (const n of spec.networks) n.network ??= 'default';
  for (const f of spec.forwards ?? []) f.protocol ??= 'TCP';
  if (spec.type === 'vm') {
    const defaulted = new Set<SizeField>((['cpu', 'memory'] as const).filter((f) => spec[f] === undefined));
    if (defaulted.size) defaultedSizes.set(spec, defaulted);
    spec.cpu ??= 1;
    spec.memory ??= '1Gi';
    spec.diskSize ??= '10Gi';
    spec.terminationGracePeriodSeconds ??= 180;
    for (const d of spec.disks ?? []) d.bus ??= 'virtio';
  } else {
    spec.terminationGracePeriodSeconds ??= 30;
  }
}

/**
 * The Instances whose disks still read from this one (or from one of its
 * snapshots, when snapshotName is given): linked copies not yet flattened.
 * A copy not yet built counts too: its agent may be about to link it.
 */
export async function linkedCopies(source: KubeObject, lookup: ObjectLookup, snapshotName?: string): Promise<string[]> {
  const ns = source.metadata.namespace;
  const name = snapshotName === undefined ? source.metadata.name : (source as KubeObject & { spec?: { instanceName?: string } }).spec?.instanceName;
  const users: string[] = [];
  for (const i of (await lookup.list(GROUP, VERSION, 'instances')) as Instance[]) {
    const src = i.spec?.source;
    if (!src || i.metadata.namespace !== ns || src.instanceName !== name || src.full || i.status?.flattened) continue;
    if (snapshotName !== undefined && src.snapshotName !== snapshotName) continue;
    users.push(`instance ${ns}/${i.metadata.name} (a linked copy: lodge flatten it, or delete it, first)`);
  }
  return users;
}

const orNone = (v: string | undefined): string => v || '<none>';

export const instance: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: 'Instance',
  plural: 'instances',
  singular: 'instance',
  shortNames: ['inst'],
  categories: ['all', 'lodge'],
  namespaced: true,
  definition: lodge('Instance'),
  statusSubresource: true,
  strategicMergePatch: false,
  columns: [
    column('Type', 'vm or container.', (o) => asInstance(o).spec?.type ?? 'container'),
    column('State', 'Runtime state, or lifecycle phase before there is one.', (o) => asInstance(o).status?.state || asInstance(o).status?.phase || 'Pending'),
    column('IP', 'Primary IP address.', (o) => orNone(asInstance(o).status?.ip)),
    column('Node', 'Node it runs on.', (o) => orNone(asInstance(o).status?.nodeName)),
    ageColumn,
    column('CPU', 'CPUs.', (o) => String(asInstance(o).spec?.cpu ?? '-'), { priority: 1 }),
    column('Memory', 'Memory.', (o) => String(asInstance(o).spec?.memory ?? '-'), { priority: 1 }),
    column('Image', 'Image of the root disk.', (o) => asInstance(o).spec?.image ?? '', { priority: 1 }),
    column('Run Strategy', 'When it is kept running.', (o) => asInstance(o).spec?.runStrategy ?? 'Always', { priority: 1 }),
  ],
  selectableFields: {
    'spec.type': (o) => asInstance(o).spec?.type ?? '',
    'spec.image': (o) => asInstance(o).spec?.image ?? '',
    'spec.nodeName': (o) => asInstance(o).spec?.nodeName ?? '',
    'spec.runStrategy': (o) => asInstance(o).spec?.runStrategy ?? '',
    'status.nodeName': (o) => asInstance(o).status?.nodeName ?? '',
    'status.phase': (o) => asInstance(o).status?.phase ?? '',
  },
  applyDefaults(o) {
    applyInstanceDefaults(asInstance(o).spec);
  },
  validate(o, old) {
    const errs = validateInstanceSpec(asInstance(o).spec);
    const src = asInstance(o).spec?.source?.instanceName;
    if (src !== undefined && src === o.metadata.name) errs.push(invalid('spec.source.instanceName', src, 'an instance cannot be a copy of itself'));
    if (old) errs.push(...validateInstanceUpdate(asInstance(o).spec, asInstance(old).spec));
    return errs;
  },
  prepareForCreate(o) {
    asInstance(o).status = { phase: 'Pending' };
  },
  deletion: {
    // A linked copy reads its source's disk layers: the source goes only after its copies (or once they are flattened).
    inUseBy: (o, lookup) => linkedCopies(o, lookup),
  },
  describe(o) {
    const i = asInstance(o);
    const s = i.spec ?? {};
    const st = i.status ?? {};
    const lines = [
      `Type:           ${s.type ?? 'container'}`,
      `Image:          ${s.image ?? ''}`,
      `CPU:            ${String(s.cpu ?? '<unlimited>')}`,
      `Memory:         ${String(s.memory ?? '<unlimited>')}`,
      `Disk:           ${String(s.diskSize ?? '<pool default>')}`,
      `Run Strategy:   ${s.runStrategy ?? 'Always'}`,
      `Node:           ${st.nodeName ?? '<none>'}`,
      `Phase:          ${st.phase ?? ''}`,
      `State:          ${st.state ?? ''}`,
      `IPs:            ${(st.ips ?? (st.ip ? [st.ip] : [])).join(', ') || '<none>'}`,
    ];
    if (s.type === 'vm') lines.push(`Accelerator:    ${st.accelerator ?? '<unknown>'}`);
    if (s.networks?.length) lines.push('Networks:', ...s.networks.map((n) => `  ${n.name}: ${n.network ?? 'default'}${n.ipAddress ? ` (${n.ipAddress})` : ''}`));
    if (s.disks?.length) lines.push('Disks:', ...s.disks.map((d) => `  ${d.name}: ${String(d.size ?? '')}${d.path ? ` at ${d.path}` : ''}`));
    if (s.forwards?.length) lines.push('Forwards:', ...s.forwards.map((f) => `  ${f.hostIP ?? '*'}:${f.hostPort} -> ${f.port}/${f.protocol ?? 'TCP'}`));
    if (s.snapshots?.schedule) lines.push(`Snapshots:      ${s.snapshots.schedule}${s.snapshots.expiry ? `, kept ${s.snapshots.expiry}` : ''}`);
    if (st.conditions?.length) {
      lines.push('Conditions:');
      for (const c of st.conditions) lines.push(`  ${(c.type ?? '').padEnd(14)}${(c.status ?? '').padEnd(8)}${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}`);
    }
    return lines;
  },
};
