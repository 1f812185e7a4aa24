// coordination.k8s.io/v1: Leases.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { lease, leaseDefinitions } from './lease.js';

export const definitions: Record<string, Schema> = { ...leaseDefinitions };
export const kinds: ResourceType[] = [lease];
