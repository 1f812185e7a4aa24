// Where pods may run: node and pod (anti-)affinity, tolerations of node
// taints, and topology spread constraints.
import { arr, int32, int64, obj, str, enumOf, type Schema } from '../../schema.js';
import { labelSelector } from '../../meta/v1.js';
import { atomicList, core, coreRef } from './names.js';

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

const affinityTerms = (who: string): Record<string, Schema> => ({
  requiredDuringSchedulingIgnoredDuringExecution: atomicList(
    coreRef('PodAffinityTerm'),
    `Hard rules: the pod is only placed where every term is met by ${who}.`,
  ),
  preferredDuringSchedulingIgnoredDuringExecution: atomicList(
    coreRef('WeightedPodAffinityTerm'),
    `Soft rules: nodes meeting more weight of terms (${who}) score higher.`,
  ),
});

export const schedulingDefinitions: Record<string, Schema> = {
  [core('NodeSelectorRequirement')]: obj(
    {
      key: str('Label key (or field name, for matchFields).'),
      operator: enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'], 'How the key relates to the values.'),
      values: atomicList(str(), 'Values for In/NotIn; one integer for Gt/Lt; empty for Exists/DoesNotExist.'),
    },
    { required: ['key', 'operator'], description: 'One condition on a node\'s labels or fields.' },
  ),
  [core('NodeSelectorTerm')]: {
    ...obj(
      {
        matchExpressions: atomicList(coreRef('NodeSelectorRequirement'), 'Conditions on node labels.'),
        matchFields: atomicList(coreRef('NodeSelectorRequirement'), 'Conditions on node fields (metadata.name).'),
      },
      { description: 'Conditions on a node, all of which must hold.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('NodeSelector')]: {
    ...obj(
      { nodeSelectorTerms: atomicList(coreRef('NodeSelectorTerm'), 'Terms ORed together.') },
      { required: ['nodeSelectorTerms'], description: 'A node matches if any of the terms matches.' },
    ),
    'x-kubernetes-map-type': 'atomic',
  },
  [core('PreferredSchedulingTerm')]: obj(
    {
      weight: int32('Weight of this preference, 1-100.'),
      preference: coreRef('NodeSelectorTerm', 'The nodes preferred.'),
    },
    { required: ['weight', 'preference'], description: 'A weighted node preference.' },
  ),
  [core('NodeAffinity')]: obj(
    {
      requiredDuringSchedulingIgnoredDuringExecution: coreRef('NodeSelector', 'Nodes the pod may run on.'),
      preferredDuringSchedulingIgnoredDuringExecution: atomicList(coreRef('PreferredSchedulingTerm'), 'Nodes the pod would rather run on.'),
    },
    { description: 'Rules about which nodes a pod runs on.' },
  ),
  [core('PodAffinityTerm')]: obj(
    {
      labelSelector: labelSelector('The pods this term is about.'),
      namespaces: atomicList(str(), 'Namespaces of those pods; the pod\'s own when empty (and no namespaceSelector).'),
      topologyKey: str('Node label defining the domain ("same node", "same zone"), e.g. kubernetes.io/hostname.'),
      namespaceSelector: labelSelector('Namespaces of those pods by label; {} means all.'),
      matchLabelKeys: atomicList(str(), 'Label keys whose values are copied from this pod into the selector (as key in (value)).'),
      mismatchLabelKeys: atomicList(str(), 'Label keys whose values are copied from this pod into the selector (as key notin (value)).'),
    },
    { required: ['topologyKey'], description: 'Pods matching the selector, in the same topology domain.' },
  ),
  [core('WeightedPodAffinityTerm')]: obj(
    {
      weight: int32('Weight of this term, 1-100.'),
      podAffinityTerm: coreRef('PodAffinityTerm', 'The term.'),
    },
    { required: ['weight', 'podAffinityTerm'], description: 'A weighted pod affinity term.' },
  ),
  [core('PodAffinity')]: obj(affinityTerms('pods it should be near'), { description: 'Place the pod near other pods.' }),
  [core('PodAntiAffinity')]: obj(affinityTerms('pods it should keep away from'), { description: 'Keep the pod away from other pods.' }),
  [core('Affinity')]: obj(
    {
      nodeAffinity: coreRef('NodeAffinity', 'Which nodes the pod runs on.'),
      podAffinity: coreRef('PodAffinity', 'Which pods it runs near.'),
      podAntiAffinity: coreRef('PodAntiAffinity', 'Which pods it keeps away from.'),
    },
    { description: 'Scheduling constraints of a pod.' },
  ),
  [core('Toleration')]: obj(
    {
      key: str('Taint key this tolerates; empty with operator Exists means every taint.'),
      operator: enumOf(['Exists', 'Equal'], 'Equal (the default) matches the value; Exists matches any value.'),
      value: str('Taint value to match; empty for Exists.'),
      effect: enumOf([...TAINT_EFFECTS], 'Taint effect to match; empty for all effects.'),
      tolerationSeconds: int64('For NoExecute: how long the pod stays bound after the taint appears; forever when unset.'),
    },
    { description: 'Allows the pod onto nodes with a matching taint.' },
  ),
  [core('TopologySpreadConstraint')]: obj(
    {
      maxSkew: int32('Largest allowed difference in matching pod counts between domains.'),
      topologyKey: str('Node label defining the domains.'),
      whenUnsatisfiable: enumOf(['DoNotSchedule', 'ScheduleAnyway'], 'What to do when the skew cannot be kept.'),
      labelSelector: labelSelector('The pods counted.'),
      minDomains: int32('Fewest eligible domains; fewer count as having zero matching pods.'),
      nodeAffinityPolicy: enumOf(['Honor', 'Ignore'], 'Whether the pod\'s node affinity limits the domains counted.'),
      nodeTaintsPolicy: enumOf(['Honor', 'Ignore'], 'Whether node taints limit the domains counted.'),
      matchLabelKeys: atomicList(str(), 'Label keys whose values from this pod are added to the selector.'),
    },
    { required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'], description: 'How evenly matching pods spread across a topology.' },
  ),
};

export const tolerationList = (): Schema => atomicList(coreRef('Toleration'), 'Taints the pod tolerates.');
export const topologySpreadList = (): Schema =>
  arr(coreRef('TopologySpreadConstraint'), {
    mergeKey: 'topologyKey',
    mapKeys: ['topologyKey', 'whenUnsatisfiable'],
    description: 'How the pod\'s group spreads across topology domains.',
  });
