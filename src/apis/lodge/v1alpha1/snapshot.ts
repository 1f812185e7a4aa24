// Snapshot: the disk state (and optionally memory) of an instance at one
// moment, to restore or clone from.
import { ageColumn, column } from '../../columns.js';
import { bool, obj, quantity, str, time, enumOf, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { jsonEqual } from '../../core/v1/equality.js';
import { forbidden, required } from '../../core/v1/field-errors.js';
import { check, dns1123Subdomain } from '../../core/v1/name-validation.js';
import { conditionList, kindDefinition } from '../../meta/v1.js';
import { GROUP, VERSION, lodge, lodgeGVK, lodgeRef } from './names.js';
import { linkedCopies } from './instance.js';

export const SNAPSHOT_PHASES = ['Pending', 'InProgress', 'Ready', 'Failed'] as const;

export type Snapshot = KubeObject & {
  spec?: { instanceName?: string; stateful?: boolean; expiresAt?: string; description?: string };
  status?: { phase?: string; createdAt?: string; size?: number | string; nodeName?: string; stateful?: boolean; instanceType?: string; message?: string };
};

export const snapshotDefinitions: Record<string, Schema> = {
  [lodge('SnapshotSpec')]: obj(
    {
      instanceName: str('The instance (in the same namespace) to snapshot.'),
      stateful: bool('Also save memory and CPU state, so a restore resumes running processes; the instance pauses briefly.', { default: false }),
      expiresAt: time('When the snapshot is deleted automatically; never when unset.'),
      description: str('Free-form note.'),
    },
    { required: ['instanceName'], description: 'Desired state of a snapshot.' },
  ),
  [lodge('SnapshotStatus')]: obj(
    {
      phase: enumOf([...SNAPSHOT_PHASES], 'Pending, InProgress, Ready or Failed.'),
      createdAt: time('The moment the snapshot captures.'),
      size: quantity('Space the snapshot uses, in bytes.'),
      nodeName: str('Node holding the snapshot.'),
      instanceType: enumOf(['container', 'vm'], 'Type of the instance captured.'),
      stateful: bool('Whether memory state was actually captured.'),
      message: str('Why the snapshot failed, or how consistent it is (e.g. file systems frozen through the guest agent, or crash-consistent).'),
      conditions: conditionList('Ready, ... with progress in messages.'),
    },
    { description: 'Observed state of a snapshot.' },
  ),
  [lodge('Snapshot')]: kindDefinition(lodgeGVK('Snapshot'), 'The saved state of an instance at one moment.', {
    spec: lodgeRef('SnapshotSpec', 'What to snapshot.'),
    status: lodgeRef('SnapshotStatus', 'Observed state of the snapshot.'),
  }),
};

const asSnapshot = (o: KubeObject): Snapshot => o as Snapshot;

function validateSnapshot(s: Snapshot, old?: Snapshot): FieldError[] {
  const spec = s.spec;
  if (!spec) return [required('spec')];
  const errs = check('spec.instanceName', spec.instanceName, dns1123Subdomain);
  if (old?.spec) {
    const { expiresAt: _a, description: _b, ...now } = spec;
    const { expiresAt: _c, description: _d, ...before } = old.spec;
    if (!jsonEqual(now, before)) errs.push(forbidden('spec', 'may not change except `expiresAt` and `description`'));
  }
  return errs;
}

export const snapshot: ResourceType = {
  group: GROUP,
  version: VERSION,
  kind: 'Snapshot',
  plural: 'snapshots',
  singular: 'snapshot',
  shortNames: ['snap'],
  categories: ['lodge'],
  namespaced: true,
  definition: lodge('Snapshot'),
  statusSubresource: true,
  strategicMergePatch: false,
  columns: [
    column('Instance', 'The instance captured.', (o) => asSnapshot(o).spec?.instanceName ?? ''),
    column('Stateful', 'Whether memory state is included.', (o) => asSnapshot(o).spec?.stateful === true, { type: 'boolean' }),
    column('Status', 'Pending, InProgress, Ready or Failed.', (o) => asSnapshot(o).status?.phase ?? 'Pending'),
    column('Size', 'Space used.', (o) => String(asSnapshot(o).status?.size ?? '')),
    ageColumn,
    column('Message', 'Why it failed, or how consistent it is.', (o) => asSnapshot(o).status?.message ?? '', { priority: 1 }),
    column('Node', 'Node holding it.', (o) => asSnapshot(o).status?.nodeName || '<none>', { priority: 1 }),
    column('Expires', 'When it is deleted automatically.', (o) => asSnapshot(o).spec?.expiresAt ?? '<never>', { priority: 1 }),
  ],
  selectableFields: {
    'spec.instanceName': (o) => asSnapshot(o).spec?.instanceName ?? '',
    'status.phase': (o) => asSnapshot(o).status?.phase ?? '',
  },
  validate(o, old) {
    return validateSnapshot(asSnapshot(o), old && asSnapshot(old));
  },
  prepareForCreate(o) {
    asSnapshot(o).status = { phase: 'Pending' };
  },
  deletion: {
    // Linked copies made from this snapshot read its disk layer.
    inUseBy: (o, lookup) => linkedCopies(o, lookup, String(o.metadata.name)),
  },
  describe(o) {
    const s = asSnapshot(o);
    return [
      `Instance:   ${s.spec?.instanceName ?? ''}`,
      `Stateful:   ${s.spec?.stateful === true}`,
      `Status:     ${s.status?.phase ?? 'Pending'}`,
      `Created:    ${s.status?.createdAt ?? '<pending>'}`,
      `Size:       ${String(s.status?.size ?? '')}`,
      `Node:       ${s.status?.nodeName ?? '<none>'}`,
      `Expires:    ${s.spec?.expiresAt ?? '<never>'}`,
    ];
  },
};

