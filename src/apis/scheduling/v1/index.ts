// scheduling.k8s.io/v1: PriorityClasses.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { priorityClass, priorityClassDefinitions } from './priorityclass.js';

export const definitions: Record<string, Schema> = { ...priorityClassDefinitions };
export const kinds: ResourceType[] = [priorityClass];
