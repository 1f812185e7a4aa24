// Protobuf field numbers of k8s.io/api policy/v1 messages (the Go structs'
// protobuf tags), so `kubectl create poddisruptionbudget`, which sends
// protobuf for built-in kinds, is understood. (Evictions are read by
// src/api/eviction/eviction-body.ts.)
import type { PackageTables } from './tables.js';

export const policyV1: PackageTables = {
  prefix: 'io.k8s.api.policy.v1',
  fields: {
    PodDisruptionBudget: { metadata: 1, spec: 2, status: 3 },
    PodDisruptionBudgetSpec: { minAvailable: 1, selector: 2, maxUnavailable: 3, unhealthyPodEvictionPolicy: 4 },
    PodDisruptionBudgetStatus: { observedGeneration: 1, disruptedPods: 2, disruptionsAllowed: 3, currentHealthy: 4, desiredHealthy: 5, expectedPods: 6, conditions: 7 },
  },
  keepZero: {
    PodDisruptionBudgetStatus: ['disruptionsAllowed', 'currentHealthy', 'desiredHealthy', 'expectedPods'],
  },
};
