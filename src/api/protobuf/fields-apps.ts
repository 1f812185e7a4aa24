// Protobuf field numbers of k8s.io/api apps/v1 and coordination/v1 messages,
// keyed by the JSON field names (from Kubernetes' published generated.proto
// and the Go structs' protobuf tags).
import type { PackageTables } from './tables.js';

export const appsV1: PackageTables = {
  prefix: 'io.k8s.api.apps.v1',
  fields: {
    Deployment: { metadata: 1, spec: 2, status: 3 },
    DeploymentSpec: { replicas: 1, selector: 2, template: 3, strategy: 4, minReadySeconds: 5, revisionHistoryLimit: 6, paused: 7, progressDeadlineSeconds: 9 },
    DeploymentStrategy: { type: 1, rollingUpdate: 2 },
    RollingUpdateDeployment: { maxUnavailable: 1, maxSurge: 2 },
    DeploymentStatus: { observedGeneration: 1, replicas: 2, updatedReplicas: 3, availableReplicas: 4, unavailableReplicas: 5, conditions: 6, readyReplicas: 7, collisionCount: 8, terminatingReplicas: 9 },
    DeploymentCondition: { type: 1, status: 2, reason: 4, message: 5, lastUpdateTime: 6, lastTransitionTime: 7 },
    ReplicaSet: { metadata: 1, spec: 2, status: 3 },
    ReplicaSetSpec: { replicas: 1, selector: 2, template: 3, minReadySeconds: 4 },
    ReplicaSetStatus: { replicas: 1, fullyLabeledReplicas: 2, observedGeneration: 3, readyReplicas: 4, availableReplicas: 5, conditions: 6, terminatingReplicas: 7 },
    ReplicaSetCondition: { type: 1, status: 2, lastTransitionTime: 3, reason: 4, message: 5 },
    DaemonSet: { metadata: 1, spec: 2, status: 3 },
    DaemonSetSpec: { selector: 1, template: 2, updateStrategy: 3, minReadySeconds: 4, revisionHistoryLimit: 6 },
    DaemonSetUpdateStrategy: { type: 1, rollingUpdate: 2 },
    RollingUpdateDaemonSet: { maxUnavailable: 1, maxSurge: 2 },
    DaemonSetStatus: { currentNumberScheduled: 1, numberMisscheduled: 2, desiredNumberScheduled: 3, numberReady: 4, observedGeneration: 5, updatedNumberScheduled: 6, numberAvailable: 7, numberUnavailable: 8, collisionCount: 9, conditions: 10 },
    DaemonSetCondition: { type: 1, status: 2, lastTransitionTime: 3, reason: 4, message: 5 },
    ControllerRevision: { metadata: 1, data: 2, revision: 3 },
  },
  keepZero: {
    DeploymentSpec: ['replicas', 'revisionHistoryLimit', 'progressDeadlineSeconds'],
    DeploymentStatus: ['collisionCount', 'terminatingReplicas'],
    DeploymentCondition: ['type', 'status'],
    ReplicaSetSpec: ['replicas'],
    ReplicaSetStatus: ['replicas', 'terminatingReplicas'],
    ReplicaSetCondition: ['type', 'status'],
    DaemonSetSpec: ['revisionHistoryLimit'],
    DaemonSetStatus: ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'collisionCount'],
    DaemonSetCondition: ['type', 'status'],
    ControllerRevision: ['revision'],
  },
  opaque: { ControllerRevision: { data: 'RawExtension' } },
};

export const coordinationV1: PackageTables = {
  prefix: 'io.k8s.api.coordination.v1',
  fields: {
    Lease: { metadata: 1, spec: 2 },
    LeaseSpec: { holderIdentity: 1, leaseDurationSeconds: 2, acquireTime: 3, renewTime: 4, leaseTransitions: 5, strategy: 6, preferredHolder: 7 },
  },
  keepZero: {
    LeaseSpec: ['holderIdentity', 'leaseDurationSeconds', 'leaseTransitions', 'strategy', 'preferredHolder'],
  },
  microTime: {
    LeaseSpec: ['acquireTime', 'renewTime'],
  },
};
