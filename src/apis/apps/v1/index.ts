// apps/v1: Deployments, ReplicaSets, DaemonSets and ControllerRevisions.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { controllerRevision, controllerRevisionDefinitions } from './controllerrevision.js';
import { daemonSet, daemonSetDefinitions } from './daemonset.js';
import { deployment, deploymentDefinitions } from './deployment.js';
import { replicaSet, replicaSetDefinitions } from './replicaset.js';

export const definitions: Record<string, Schema> = { ...deploymentDefinitions, ...replicaSetDefinitions, ...daemonSetDefinitions, ...controllerRevisionDefinitions };
export const kinds: ResourceType[] = [deployment, replicaSet, daemonSet, controllerRevision];
