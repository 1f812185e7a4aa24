// apps/v1: Deployments and ReplicaSets.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { deployment, deploymentDefinitions } from './deployment.js';
import { replicaSet, replicaSetDefinitions } from './replicaset.js';

export const definitions: Record<string, Schema> = { ...deploymentDefinitions, ...replicaSetDefinitions };
export const kinds: ResourceType[] = [deployment, replicaSet];
