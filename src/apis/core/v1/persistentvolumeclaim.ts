// PersistentVolumeClaim: a request for storage that outlives pods.
import { ageColumn, column } from '../../columns.js';
import { arr, mapOf, obj, str, time, enumOf, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { kindDefinition, labelSelector } from '../../meta/v1.js';
import { jsonEqual } from './equality.js';
import { forbidden, invalid, required } from './field-errors.js';
import { validateLabelSelector } from './label-selector.js';
import { atomicList, core, coreGVK, coreRef, withDefault } from './names.js';
import { parseQuantity } from './quantity.js';
import { resourceList } from './resources.js';
import type { PersistentVolumeClaimSpec, PersistentVolumeClaimStatus } from './types.js';

export const ACCESS_MODES = ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod'] as const;
const ACCESS_MODE_SHORT: Record<string, string> = { ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' };

type PersistentVolumeClaim = KubeObject & {
  spec?: PersistentVolumeClaimSpec;
  status?: PersistentVolumeClaimStatus;
};

export const pvcDefinitions: Record<string, Schema> = {
  [core('PersistentVolumeClaimSpec')]: obj(
    {
      accessModes: atomicList(enumOf([...ACCESS_MODES]), 'How the volume may be mounted: ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.'),
      selector: labelSelector('Only bind volumes with these labels.'),
      resources: coreRef('VolumeResourceRequirements', 'Storage asked for (requests.storage); may grow later if the class allows.'),
      volumeName: str('The volume bound to this claim.'),
      storageClassName: str('StorageClass (storage pool) to provision from; the default class when unset, none when "".'),
      volumeMode: withDefault(enumOf(['Filesystem', 'Block'], 'Whether the volume is formatted (Filesystem) or a raw device (Block).'), 'Filesystem'),
      dataSource: coreRef('TypedLocalObjectReference', 'Populate the new volume from a snapshot or another claim.'),
      dataSourceRef: coreRef('TypedObjectReference', 'Populate the new volume from any populator object.'),
      volumeAttributesClassName: str('VolumeAttributesClass with mutable volume settings (e.g. IOPS).'),
    },
    { description: 'Desired properties of a claimed volume.' },
  ),
  [core('PersistentVolumeClaimCondition')]: obj(
    {
      type: str('Resizing, FileSystemResizePending, ModifyingVolume, ...'),
      status: enumOf(['True', 'False', 'Unknown'], 'Whether it holds.'),
      lastProbeTime: time('When it was last checked.'),
      lastTransitionTime: time('When it last changed.'),
      reason: str('CamelCase reason.'),
      message: str('Details.'),
    },
    { required: ['type', 'status'], description: 'One aspect of a claim\'s state.' },
  ),
  [core('ModifyVolumeStatus')]: obj(
    {
      targetVolumeAttributesClassName: str('The class being applied.'),
      status: str('Pending, InProgress or Infeasible.'),
    },
    { required: ['status'], description: 'Progress of a volume modification.' },
  ),
  [core('PersistentVolumeClaimStatus')]: obj(
    {
      phase: enumOf(['Pending', 'Bound', 'Lost'], 'Pending until bound to a volume.'),
      accessModes: atomicList(str(), 'Access modes of the bound volume.'),
      capacity: resourceList('Actual size of the bound volume.'),
      conditions: arr(coreRef('PersistentVolumeClaimCondition'), { mergeKey: 'type', description: 'Current conditions of the claim.' }),
      allocatedResources: resourceList('Size allocated for a pending resize.'),
      allocatedResourceStatuses: { ...mapOf(str()), description: 'Progress of a resize per resource.', 'x-kubernetes-map-type': 'granular' },
      currentVolumeAttributesClassName: str('VolumeAttributesClass currently applied.'),
      modifyVolumeStatus: coreRef('ModifyVolumeStatus', 'Progress of a volume modification.'),
    },
    { description: 'Observed state of a claim.' },
  ),
  [core('PersistentVolumeClaim')]: kindDefinition(coreGVK('PersistentVolumeClaim'), 'A request for a persistent volume.', {
    spec: coreRef('PersistentVolumeClaimSpec', 'What storage is asked for.'),
    status: coreRef('PersistentVolumeClaimStatus', 'Observed state of the claim.'),
  }),
};

const asPvc = (o: KubeObject): PersistentVolumeClaim => o as PersistentVolumeClaim;

/** Checks shared by claims and the claim templates of ephemeral volumes. */
export function validateClaimSpec(field: string, spec: PersistentVolumeClaimSpec | undefined): FieldError[] {
  if (!spec) return [required(field)];
  const errs: FieldError[] = [];
  const modes = spec.accessModes ?? [];
  if (!modes.length) errs.push(required(`${field}.accessModes`, 'at least 1 access mode is required'));
  if (modes.includes('ReadWriteOncePod') && modes.length > 1)
    errs.push(forbidden(`${field}.accessModes`, 'may not use ReadWriteOncePod with other access modes'));
  const storage = spec.resources?.requests?.storage;
  if (storage === undefined) errs.push(required(`${field}.resources[storage]`));
  else if (!((parseQuantity(storage) ?? 0) > 0)) errs.push(invalid(`${field}.resources[storage]`, String(storage), 'must be greater than zero'));
  errs.push(...validateLabelSelector(`${field}.selector`, spec.selector));
  return errs;
}

const MUTABLE = 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims';

function validateClaimUpdate(spec: PersistentVolumeClaimSpec | undefined, old: PersistentVolumeClaimSpec | undefined): FieldError[] {
  if (!spec || !old) return [];
  const masked: PersistentVolumeClaimSpec = { ...spec, resources: old.resources, volumeAttributesClassName: old.volumeAttributesClassName };
  if (!old.volumeName) masked.volumeName = old.volumeName;
  for (const k of Object.keys(masked) as Array<keyof PersistentVolumeClaimSpec>) if (masked[k] === undefined) delete masked[k];
  const errs: FieldError[] = [];
  if (!jsonEqual(masked, old)) errs.push(forbidden('spec', MUTABLE));
  const before = parseQuantity(old.resources?.requests?.storage);
  const after = parseQuantity(spec.resources?.requests?.storage);
  if (before !== undefined && after !== undefined && after < before)
    errs.push(forbidden('spec.resources.requests.storage', 'field can not be less than previous value'));
  return errs;
}

export const persistentVolumeClaim: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  shortNames: ['pvc'],
  namespaced: true,
  definition: core('PersistentVolumeClaim'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Status', 'Pending, Bound or Lost.', (o) => asPvc(o).status?.phase ?? ''),
    column('Volume', 'The bound volume.', (o) => asPvc(o).spec?.volumeName ?? ''),
    column('Capacity', 'Size of the bound volume.', (o) => (asPvc(o).spec?.volumeName ? String(asPvc(o).status?.capacity?.storage ?? '') : '')),
    column('Access Modes', 'Access modes of the bound volume.', (o) =>
      asPvc(o).spec?.volumeName ? (asPvc(o).status?.accessModes ?? []).map((m) => ACCESS_MODE_SHORT[m] ?? m).join(',') : '',
    ),
    column('StorageClass', 'Storage class of the claim.', (o) => asPvc(o).spec?.storageClassName || '<unset>'),
    ageColumn,
    column('VolumeMode', 'Filesystem or Block.', (o) => asPvc(o).spec?.volumeMode ?? '<unset>', { priority: 1 }),
  ],
  validate(o, old) {
    const errs = validateClaimSpec('spec', asPvc(o).spec);
    if (old) errs.push(...validateClaimUpdate(asPvc(o).spec, asPvc(old).spec));
    return errs;
  },
  prepareForCreate(o) {
    asPvc(o).status = { phase: 'Pending' };
  },
  describe(o) {
    const p = asPvc(o);
    return [
      `StorageClass:   ${p.spec?.storageClassName ?? ''}`,
      `Status:         ${p.status?.phase ?? ''}`,
      `Volume:         ${p.spec?.volumeName ?? ''}`,
      `Capacity:       ${String(p.status?.capacity?.storage ?? '')}`,
      `Access Modes:   ${(p.status?.accessModes ?? []).map((m) => ACCESS_MODE_SHORT[m] ?? m).join(',')}`,
      `VolumeMode:     ${p.spec?.volumeMode ?? ''}`,
    ];
  },
};

