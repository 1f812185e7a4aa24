// PriorityClass (scheduling.k8s.io/v1): a name for a priority. A Pod (or an
// Instance) names one in spec.priorityClassName; admission resolves it to
// spec.priority and spec.preemptionPolicy (api/admission/priority.ts), the
// scheduler queues higher priorities first and may preempt lower-priority
// Pods for them. Cluster-scoped. The two system classes exist from the
// first start and can be neither changed nor deleted; other names with the
// system- prefix are reserved.
import { ageColumn, column } from '../../columns.js';
import { bool, enumOf, int32, str, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { forbidden, immutable, notSupported } from '../../core/v1/field-errors.js';
import { kindDefinition } from '../../meta/v1.js';

const SCHEDULING = 'io.k8s.api.scheduling.v1';
const def = (name: string): string => `${SCHEDULING}.${name}`;

export const PREEMPTION_POLICIES = ['PreemptLowerPriority', 'Never'] as const;
export type PreemptionPolicy = (typeof PREEMPTION_POLICIES)[number];
/** The highest value a user-defined class may have (Kubernetes' HighestUserDefinablePriority). */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';

export type PriorityClass = KubeObject & { value?: number; globalDefault?: boolean; description?: string; preemptionPolicy?: string };

/** Kubernetes' built-in classes, as its API server creates them. */
export const SYSTEM_PRIORITY_CLASSES: Array<{ name: string; value: number; description: string }> = [
  { name: 'system-node-critical', value: 2_000_001_000, description: 'Used for system critical pods that must not be moved from their current node.' },
  { name: 'system-cluster-critical', value: 2_000_000_000, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' },
];

export function systemPriorityClassObject(c: { name: string; value: number; description: string }): PriorityClass {
  return { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: c.name }, value: c.value, description: c.description, preemptionPolicy: 'PreemptLowerPriority' };
}

export const priorityClassDefinitions: Record<string, Schema> = {
  [def('PriorityClass')]: kindDefinition(
    { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass' },
    'A mapping from a priority class name to the integer priority value of the Pods that name it. The higher the value, the higher the priority.',
    {
      value: int32('The priority Pods of this class get. Any 32-bit integer up to 1000000000; higher values are reserved for the system classes.'),
      globalDefault: bool('Whether this class is the priority of Pods that name none. Only one class may be the global default.'),
      description: str('When this class should be used.'),
      preemptionPolicy: enumOf([...PREEMPTION_POLICIES], 'PreemptLowerPriority (the default) lets Pods of this class preempt lower-priority Pods; Never places them ahead of lower-priority Pods in the queue without preempting any.'),
    },
    { required: ['value'] },
  ),
};

const asPc = (o: KubeObject): PriorityClass => o as PriorityClass;

/** Kubernetes' IsKnownSystemPriorityClass: undefined when it is one, else why not. */
function notKnownSystemClass(name: string, value: number | undefined, globalDefault: boolean | undefined): string | undefined {
  const s = SYSTEM_PRIORITY_CLASSES.find((c) => c.name === name);
  if (!s) return `${name} is not a known system priority class`;
  if ((value ?? 0) !== s.value) return `value of ${name} PriorityClass must be ${s.value}`;
  if (globalDefault) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

/** Kubernetes' ValidatePriorityClass and ValidatePriorityClassUpdate; the system classes may not change at all. */
export function validatePriorityClass(pc: PriorityClass, old?: PriorityClass): FieldError[] {
  const errs: FieldError[] = [];
  const name = String(pc.metadata.name ?? '');
  if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const why = notKnownSystemClass(name, pc.value, pc.globalDefault);
    if (why) errs.push(forbidden('metadata.name', `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${why}`));
  } else if ((pc.value ?? 0) > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  if (pc.preemptionPolicy !== undefined && !(PREEMPTION_POLICIES as readonly string[]).includes(pc.preemptionPolicy))
    errs.push(notSupported('preemptionPolicy', pc.preemptionPolicy, PREEMPTION_POLICIES));
  if (old) {
    if ((pc.value ?? 0) !== (old.value ?? 0)) errs.push(forbidden('value', 'may not be changed in an update.'));
    if ((pc.preemptionPolicy ?? 'PreemptLowerPriority') !== (old.preemptionPolicy ?? 'PreemptLowerPriority')) errs.push(immutable('preemptionPolicy', pc.preemptionPolicy));
    if (SYSTEM_PRIORITY_CLASSES.some((c) => c.name === name) && (pc.description ?? '') !== (old.description ?? ''))
      errs.push(forbidden('description', 'a system priority class may not be changed'));
  }
  return errs;
}

export const priorityClass: ResourceType = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  shortNames: ['pc'],
  namespaced: false,
  definition: def('PriorityClass'),
  statusSubresource: false,
  strategicMergePatch: true,
  columns: [
    column('Value', 'The priority of Pods of this class.', (o) => asPc(o).value ?? 0, { type: 'integer' }),
    column('Global-Default', 'Whether Pods without a class get this one.', (o) => Boolean(asPc(o).globalDefault), { type: 'boolean' }),
    ageColumn,
    column('PreemptionPolicy', 'Whether Pods of this class may preempt lower-priority Pods.', (o) => asPc(o).preemptionPolicy ?? 'PreemptLowerPriority', { priority: 1 }),
  ],
  applyDefaults(o) {
    const pc = asPc(o);
    pc.value ??= 0;
    pc.preemptionPolicy ??= 'PreemptLowerPriority';
  },
  validate(o, old) {
    return validatePriorityClass(asPc(o), old ? asPc(old) : undefined);
  },
  // Kubernetes' words (the PriorityClass registry's Delete).
  deletion: { protectedNames: SYSTEM_PRIORITY_CLASSES.map((c) => c.name), protectedReason: 'this is a system priority class and cannot be deleted' },
  describe(o) {
    const pc = asPc(o);
    return [
      `Value:             ${pc.value ?? 0}`,
      `GlobalDefault:     ${Boolean(pc.globalDefault)}`,
      `PreemptionPolicy:  ${pc.preemptionPolicy ?? 'PreemptLowerPriority'}`,
      `Description:       ${pc.description ?? ''}`,
    ];
  },
};
