// The shapes of core/v1 Affinity the scheduler reads (the schema in
// src/apis/core/v1/scheduling.ts validates them on admission).
import type { LabelSelector } from '../apis/core/v1/types.js';

export type NodeSelectorRequirement = { key?: string; operator?: string; values?: string[] };
export type NodeSelectorTerm = { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] };
export type PreferredSchedulingTerm = { weight?: number; preference?: NodeSelectorTerm };

export type PodAffinityTerm = {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  namespaceSelector?: LabelSelector;
  topologyKey?: string;
};
export type WeightedPodAffinityTerm = { weight?: number; podAffinityTerm?: PodAffinityTerm };

export type Affinity = {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
  };
  podAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
  };
  podAntiAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
  };
};

export type TopologySpreadConstraint = {
  maxSkew?: number;
  topologyKey?: string;
  whenUnsatisfiable?: 'DoNotSchedule' | 'ScheduleAnyway' | string;
  labelSelector?: LabelSelector;
  minDomains?: number;
  nodeAffinityPolicy?: 'Honor' | 'Ignore' | string;
  matchLabelKeys?: string[];
};
