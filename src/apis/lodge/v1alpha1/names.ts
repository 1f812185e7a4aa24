// Definition names of lodge.dev/v1alpha1.
import { ref, type Schema } from '../../schema.js';

export const GROUP = 'lodge.dev';
export const VERSION = 'v1alpha1';
const PREFIX = 'dev.lodge.v1alpha1';

export const lodge = (name: string): string => `${PREFIX}.${name}`;
export const lodgeRef = (name: string, description?: string): Schema => ref(lodge(name), description);
export const lodgeGVK = (kind: string): { group: string; version: string; kind: string } => ({ group: GROUP, version: VERSION, kind });
