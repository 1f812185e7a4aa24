// Protobuf field numbers of k8s.io/api scheduling/v1 messages (the Go
// structs' protobuf tags), so `kubectl create priorityclass`, which sends
// protobuf for built-in kinds, is understood.
import type { PackageTables } from './tables.js';

export const schedulingV1: PackageTables = {
  prefix: 'io.k8s.api.scheduling.v1',
  fields: {
    PriorityClass: { metadata: 1, value: 2, globalDefault: 3, description: 4, preemptionPolicy: 5 },
  },
  keepZero: {
    // value has no omitempty (a class of value 0 says so); preemptionPolicy is a pointer.
    PriorityClass: ['value', 'preemptionPolicy'],
  },
};
