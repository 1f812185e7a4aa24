// policy/v1: PodDisruptionBudgets.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { podDisruptionBudget, podDisruptionBudgetDefinitions } from './poddisruptionbudget.js';

export const definitions: Record<string, Schema> = { ...podDisruptionBudgetDefinitions };
export const kinds: ResourceType[] = [podDisruptionBudget];
