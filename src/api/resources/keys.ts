// Where a kind's objects live in the store: /registry/GROUP/PLURAL/[NS/]NAME.
import type { ResourceType } from '../../apis/types.js';

export function collectionPrefix(rt: ResourceType, namespace?: string): string {
  const base = `/registry/${rt.group || 'core'}/${rt.plural}/`;
  return rt.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(rt: ResourceType, namespace: string | undefined, name: string): string {
  return `${collectionPrefix(rt, rt.namespaced ? namespace : undefined)}${name}`;
}
