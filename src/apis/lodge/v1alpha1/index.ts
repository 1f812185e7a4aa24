// lodge.dev/v1alpha1: the virtual-server side of Lodge. Served like CRDs
// (JSON and merge patches, no strategic merge).
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { image, imageDefinitions } from './image.js';
import { instance } from './instance.js';
import { instanceDefinitions } from './instance-schema.js';
import { network, networkDefinitions } from './network.js';
import { snapshot, snapshotDefinitions } from './snapshot.js';

export const definitions: Record<string, Schema> = { ...instanceDefinitions, ...imageDefinitions, ...snapshotDefinitions, ...networkDefinitions };
export const kinds: ResourceType[] = [instance, image, snapshot, network];
