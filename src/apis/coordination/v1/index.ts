import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';

export const definitions: Record<string, Schema> = {};
export const kinds: ResourceType[] = [];
