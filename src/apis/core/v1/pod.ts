// Pod: one or more containers scheduled together onto a node.
import { ageColumn, column } from '../../columns.js';
import { kindDefinition } from '../../meta/v1.js';
import type { KubeObject, ResourceType } from '../../types.js';
import { coreGVK, coreRef, core } from './names.js';
import { applyDefaultTolerations, applyPodDefaults, qosClass } from './pod-defaults.js';
import { summarizePod } from './pod-table.js';
import { validatePodSpec, validatePodSpecUpdate } from './pod-validation.js';
import type { ContainerState, Pod } from './types.js';

const asPod = (o: KubeObject): Pod => o as Pod;
const orNone = (v: string | undefined): string => v || '<none>';

function readinessGates(p: Pod): string {
  const gates = p.spec?.readinessGates ?? [];
  if (!gates.length) return '<none>';
  const conditions = p.status?.conditions ?? [];
  const ok = gates.filter((g) => conditions.some((c) => c.type === g.conditionType && c.status === 'True')).length;
  return `${ok}/${gates.length}`;
}

function stateLine(s: ContainerState | undefined): string {
  if (s?.running) return `Running (since ${s.running.startedAt ?? 'unknown'})`;
  if (s?.terminated) return `Terminated: ${s.terminated.reason ?? 'Error'} (exit code ${s.terminated.exitCode ?? '?'})`;
  if (s?.waiting) return `Waiting: ${s.waiting.reason ?? ''}`.trimEnd();
  return 'Waiting';
}

function describePod(o: KubeObject): string[] {
  const p = asPod(o);
  const st = p.status ?? {};
  const lines = [
    `Node:             ${p.spec?.nodeName ? `${p.spec.nodeName}${st.hostIP ? `/${st.hostIP}` : ''}` : '<none>'}`,
    `Start Time:       ${st.startTime ?? '<unset>'}`,
    `Status:           ${summarizePod(p, Date.now()).status}`,
    `IP:               ${st.podIP ?? ''}`,
    `QoS Class:        ${st.qosClass ?? qosClass(p.spec)}`,
  ];
  const statuses = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])];
  for (const [title, list] of [['Init Containers', p.spec?.initContainers], ['Containers', p.spec?.containers]] as const) {
    if (!list?.length) continue;
    lines.push(`${title}:`);
    for (const c of list) {
      const s = statuses.find((x) => x.name === c.name);
      lines.push(`  ${c.name}:`);
      lines.push(`    Image:          ${c.image ?? ''}`);
      if (c.ports?.length) lines.push(`    Ports:          ${c.ports.map((x) => `${x.containerPort}/${x.protocol ?? 'TCP'}`).join(', ')}`);
      lines.push(`    State:          ${stateLine(s?.state)}`);
      if (s?.lastState?.terminated) lines.push(`    Last State:     ${stateLine(s.lastState)}`);
      lines.push(`    Ready:          ${s?.ready ? 'True' : 'False'}`);
      lines.push(`    Restart Count:  ${s?.restartCount ?? 0}`);
    }
  }
  const conditions = st.conditions ?? [];
  if (conditions.length) {
    lines.push('Conditions:');
    for (const c of conditions) lines.push(`  ${(c.type ?? '').padEnd(26)}${c.status ?? ''}`);
  }
  return lines;
}

export const podDefinitions = {
  [core('Pod')]: kindDefinition(coreGVK('Pod'), 'A group of containers that share a network namespace and volumes and run together on one node.', {
    spec: coreRef('PodSpec', 'Desired state of the pod.'),
    status: coreRef('PodStatus', 'Observed state of the pod, written by the node agent and scheduler.'),
  }),
};

export const pod: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  definition: core('Pod'),
  statusSubresource: true,
  strategicMergePatch: true,
  columns: [
    column('Ready', 'Ready containers out of all (sidecars included).', (o, now) => summarizePod(asPod(o), now).ready),
    column('Status', 'The pod\'s state, as kubectl summarizes it.', (o, now) => summarizePod(asPod(o), now).status),
    column('Restarts', 'Container restarts, and how long ago the last one was.', (o, now) => summarizePod(asPod(o), now).restarts),
    ageColumn,
    column('IP', 'The pod\'s IP address.', (o) => orNone(asPod(o).status?.podIP), { priority: 1 }),
    column('Node', 'The node the pod is bound to.', (o) => orNone(asPod(o).spec?.nodeName), { priority: 1 }),
    column('Nominated Node', 'Node the pod may move to after preemption.', (o) => orNone(asPod(o).status?.nominatedNodeName), { priority: 1 }),
    column('Readiness Gates', 'Readiness gates that are True, out of all.', (o) => readinessGates(asPod(o)), { priority: 1 }),
  ],
  selectableFields: {
    'spec.nodeName': (o) => asPod(o).spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => asPod(o).spec?.restartPolicy ?? '',
    'spec.schedulerName': (o) => asPod(o).spec?.schedulerName ?? '',
    'spec.serviceAccountName': (o) => asPod(o).spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o) => String(asPod(o).spec?.hostNetwork === true),
    'status.phase': (o) => asPod(o).status?.phase ?? '',
    'status.podIP': (o) => asPod(o).status?.podIP ?? '',
    'status.nominatedNodeName': (o) => asPod(o).status?.nominatedNodeName ?? '',
  },
  applyDefaults(o) {
    applyPodDefaults(asPod(o).spec);
  },
  validate(o, old) {
    const errs = validatePodSpec('spec', asPod(o).spec);
    if (old) errs.push(...validatePodSpecUpdate(asPod(o).spec, asPod(old).spec));
    return errs;
  },
  prepareForCreate(o) {
    const p = asPod(o);
    applyDefaultTolerations(p.spec);
    p.status = { phase: 'Pending', qosClass: qosClass(p.spec) };
  },
  deletion: {
    // A bound Pod stops gracefully: its node's agent removes it when the containers are gone.
    stoppedByNode(o) {
      const spec = asPod(o).spec;
      return spec?.nodeName ? { node: spec.nodeName, graceSeconds: spec.terminationGracePeriodSeconds ?? 30 } : undefined;
    },
  },
  describe: describePod,
};
