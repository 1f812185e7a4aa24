// discovery.k8s.io/v1: EndpointSlices.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { endpointSlice, endpointSliceDefinitions } from './endpointslice.js';

export const definitions: Record<string, Schema> = { ...endpointSliceDefinitions };
export const kinds: ResourceType[] = [endpointSlice];
