// Protobuf field numbers of apimachinery's meta/v1 messages, keyed by the
// JSON field names. Learned from Kubernetes' published generated.proto and
// the Go structs' protobuf tags (k8s.io/apimachinery pkg/apis/meta/v1).
// Time, MicroTime and FieldsV1 are decoded specially (see decode.ts).
import type { PackageTables } from './tables.js';

export const metaV1: PackageTables = {
  prefix: 'io.k8s.apimachinery.pkg.apis.meta.v1',
  fields: {
    ObjectMeta: { name: 1, generateName: 2, namespace: 3, selfLink: 4, uid: 5, resourceVersion: 6, generation: 7, creationTimestamp: 8, deletionTimestamp: 9, deletionGracePeriodSeconds: 10, labels: 11, annotations: 12, ownerReferences: 13, finalizers: 14, managedFields: 17 },
    OwnerReference: { kind: 1, name: 3, uid: 4, apiVersion: 5, controller: 6, blockOwnerDeletion: 7 },
    ManagedFieldsEntry: { manager: 1, operation: 2, apiVersion: 3, time: 4, fieldsType: 6, fieldsV1: 7, subresource: 8 },
    Condition: { type: 1, status: 2, observedGeneration: 3, lastTransitionTime: 4, reason: 5, message: 6 },
    LabelSelector: { matchLabels: 1, matchExpressions: 2 },
    LabelSelectorRequirement: { key: 1, operator: 2, values: 3 },
    ListMeta: { selfLink: 1, resourceVersion: 2, continue: 3, remainingItemCount: 4, shardInfo: 5 },
    ShardInfo: { selector: 1 },
  },
  keepZero: {
    ObjectMeta: ['deletionGracePeriodSeconds'],
    OwnerReference: ['kind', 'name', 'uid', 'apiVersion', 'controller', 'blockOwnerDeletion'],
    Condition: ['type', 'status', 'reason', 'message'],
    LabelSelectorRequirement: ['key', 'operator'],
    ListMeta: ['remainingItemCount'],
    ShardInfo: ['selector'],
  },
  // ManagedFieldsEntry.fieldsV1 is a FieldsV1 message: {Raw=1 bytes} holding JSON.
  opaque: { ManagedFieldsEntry: { fieldsV1: 'FieldsV1' } },
};
