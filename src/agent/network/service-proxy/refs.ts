// The API resources the Service proxy watches.
import type { ResourceRef } from '../../../client/paths.js';

export const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', namespaced: true, kind: 'Service' };
export const ENDPOINT_SLICES: ResourceRef = { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true, kind: 'EndpointSlice' };
