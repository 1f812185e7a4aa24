// PodDisruptionBudget: how many of a set of Pods must stay up through
// voluntary disruptions (evictions: `kubectl drain`). The disruption
// controller writes its status (how many may go now); the eviction
// subresource consults and decrements it.
import { ageColumn, column } from '../../columns.js';
import { arr, enumOf, int32, int64, intOrString, mapOf, obj, ref, time, type Schema } from '../../schema.js';
import type { FieldError, KubeObject, ResourceType } from '../../types.js';
import { intOrPercent, invalid, nonNegative, notSupported } from '../../core/v1/field-errors.js';
import { formatSelector, validateLabelSelector } from '../../core/v1/label-selector.js';
import type { Condition, IntOrString, LabelSelector } from '../../core/v1/types.js';
import { CONDITION, kindDefinition, labelSelector } from '../../meta/v1.js';

const POLICY = 'io.k8s.api.policy.v1';
const def = (name: string): string => `${POLICY}.${name}`;

export const UNHEALTHY_POD_EVICTION_POLICIES = ['AlwaysAllow', 'IfHealthyBudget'] as const;

export type PodDisruptionBudgetSpec = {
  minAvailable?: IntOrString;
  maxUnavailable?: IntOrString;
  selector?: LabelSelector;
  unhealthyPodEvictionPolicy?: string;
};

export type PodDisruptionBudgetStatus = {
  observedGeneration?: number;
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: Array<Condition & { observedGeneration?: number }>;
};

export type PodDisruptionBudget = KubeObject & { spec?: PodDisruptionBudgetSpec; status?: PodDisruptionBudgetStatus };

export const podDisruptionBudgetDefinitions: Record<string, Schema> = {
  [def('PodDisruptionBudgetSpec')]: obj(
    {
      minAvailable: intOrString('An eviction is allowed if at least this many of the selected pods (a number or a percentage) stay available without the evicted one; "100%" prevents all voluntary evictions.'),
      selector: { ...labelSelector('The pods the budget covers. A null selector matches no pods; an empty one ({}) every pod of the namespace.'), 'x-kubernetes-patch-strategy': 'replace' },
      maxUnavailable: intOrString('An eviction is allowed if at most this many of the selected pods (a number or a percentage) are unavailable after it; 0 prevents all voluntary evictions. Not together with minAvailable.'),
      unhealthyPodEvictionPolicy: enumOf([...UNHEALTHY_POD_EVICTION_POLICIES], 'When pods that are running but not ready may be evicted: IfHealthyBudget (only while the budget is met, the default) or AlwaysAllow.'),
    },
    { description: 'Description of a PodDisruptionBudget.' },
  ),
  [def('PodDisruptionBudgetStatus')]: obj(
    {
      observedGeneration: int64('The generation of the spec this status reflects; the rest of the status is valid only when it equals metadata.generation.'),
      disruptedPods: mapOf(time(), 'Pods whose eviction the API server processed but the disruption controller has not yet seen deleted, by name, with when the eviction was processed.'),
      disruptionsAllowed: int32('Number of pod disruptions that are currently allowed.'),
      currentHealthy: int32('Current number of healthy pods.'),
      desiredHealthy: int32('Minimum desired number of healthy pods.'),
      expectedPods: int32('Total number of pods counted by this disruption budget.'),
      conditions: arr(ref(CONDITION), { mergeKey: 'type', description: 'Conditions of the budget: DisruptionAllowed (reasons SufficientPods, InsufficientPods, SyncFailed).' }),
    },
    { required: ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'], description: 'Observed state of a PodDisruptionBudget; may trail the actual state of the system.' },
  ),
  [def('PodDisruptionBudget')]: kindDefinition({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget' }, 'The most disruption that may be caused to a collection of pods.', {
    spec: ref(def('PodDisruptionBudgetSpec'), 'Desired behaviour of the PodDisruptionBudget.'),
    status: ref(def('PodDisruptionBudgetStatus'), 'Most recently observed status of the PodDisruptionBudget.'),
  }),
};

const asPdb = (o: KubeObject): PodDisruptionBudget => o as PodDisruptionBudget;

export function validatePodDisruptionBudget(p: PodDisruptionBudget): FieldError[] {
  const s = p.spec ?? {};
  const errs: FieldError[] = [];
  if (s.minAvailable != null && s.maxUnavailable != null) errs.push(invalid('spec', s, 'minAvailable and maxUnavailable cannot be both set'));
  errs.push(...intOrPercent('spec.minAvailable', s.minAvailable, { max100: true }).errors, ...intOrPercent('spec.maxUnavailable', s.maxUnavailable, { max100: true }).errors);
  errs.push(...validateLabelSelector('spec.selector', s.selector));
  if (s.unhealthyPodEvictionPolicy !== undefined && !(UNHEALTHY_POD_EVICTION_POLICIES as readonly string[]).includes(s.unhealthyPodEvictionPolicy))
    errs.push(notSupported('spec.unhealthyPodEvictionPolicy', s.unhealthyPodEvictionPolicy, UNHEALTHY_POD_EVICTION_POLICIES));
  const st = p.status ?? {};
  for (const f of ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods', 'observedGeneration'] as const) errs.push(...nonNegative(`status.${f}`, st[f]));
  return errs;
}

const shown = (v: IntOrString | undefined): string => (v === undefined || v === null ? 'N/A' : String(v));

export const podDisruptionBudget: ResourceType = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  shortNames: ['pdb'],
  namespaced: true,
  definition: def('PodDisruptionBudget'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Min Available', 'The minimum number of pods that must be available.', (o) => shown(asPdb(o).spec?.minAvailable)),
    column('Max Unavailable', 'The maximum number of pods that may be unavailable.', (o) => shown(asPdb(o).spec?.maxUnavailable)),
    column('Allowed Disruptions', 'Calculated number of pods that may be disrupted at this time.', (o) => asPdb(o).status?.disruptionsAllowed ?? 0, { type: 'integer' }),
    ageColumn,
  ],
  validate(o) {
    return validatePodDisruptionBudget(asPdb(o));
  },
  describe(o) {
    const p = asPdb(o);
    const s = p.spec ?? {};
    const st = p.status ?? {};
    return [
      s.minAvailable != null ? `Min available:  ${s.minAvailable}` : `Max unavailable:  ${shown(s.maxUnavailable)}`,
      `Selector:       ${s.selector ? formatSelector(s.selector) : '<unset>'}`,
      'Status:',
      `    Allowed disruptions:  ${st.disruptionsAllowed ?? 0}`,
      `    Current:              ${st.currentHealthy ?? 0}`,
      `    Desired:              ${st.desiredHealthy ?? 0}`,
      `    Total:                ${st.expectedPods ?? 0}`,
    ];
  },
};
