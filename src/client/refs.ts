// The resources Lodge's own components use, as ResourceRefs: they need no
// discovery round trip, and the API server serves them all.
import type { ResourceRef } from './paths.js';

export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', namespaced: true, kind: 'Pod' };
export const NODES: ResourceRef = { group: '', version: 'v1', plural: 'nodes', namespaced: false, kind: 'Node' };
export const EVENTS: ResourceRef = { group: '', version: 'v1', plural: 'events', namespaced: true, kind: 'Event' };
export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', namespaced: true, kind: 'ConfigMap' };
export const SECRETS: ResourceRef = { group: '', version: 'v1', plural: 'secrets', namespaced: true, kind: 'Secret' };
export const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true, kind: 'Lease' };
export const IMAGES: ResourceRef = { group: 'lodge.dev', version: 'v1alpha1', plural: 'images', namespaced: false, kind: 'Image' };
export const INSTANCES: ResourceRef = { group: 'lodge.dev', version: 'v1alpha1', plural: 'instances', namespaced: true, kind: 'Instance' };
export const NETWORKS: ResourceRef = { group: 'lodge.dev', version: 'v1alpha1', plural: 'networks', namespaced: false, kind: 'Network' };
export const SNAPSHOTS: ResourceRef = { group: 'lodge.dev', version: 'v1alpha1', plural: 'snapshots', namespaced: true, kind: 'Snapshot' };
