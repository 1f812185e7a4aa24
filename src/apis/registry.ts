// All kinds Lodge serves, and the OpenAPI definitions their schemas use.
import { metaDefinitions } from './meta/v1.js';
import * as core from './core/v1/index.js';
import * as apps from './apps/v1/index.js';
import * as batch from './batch/v1/index.js';
import * as coordination from './coordination/v1/index.js';
import * as discovery from './discovery/v1/index.js';
import * as lodge from './lodge/v1alpha1/index.js';
import * as policy from './policy/v1/index.js';
import * as scheduling from './scheduling/v1/index.js';
import type { Schema } from './schema.js';
import { apiVersionOf, type ResourceType } from './types.js';

export interface GroupVersion {
  group: string;
  version: string;
  kinds: ResourceType[];
}

export class Registry {
  readonly kinds: ResourceType[];
  readonly definitions: Record<string, Schema>;
  private readonly byResource = new Map<string, ResourceType>();
  private readonly byKind = new Map<string, ResourceType>();

  constructor(modules: Array<{ definitions: Record<string, Schema>; kinds: ResourceType[] }>, shared: Record<string, Schema> = metaDefinitions) {
    this.definitions = { ...shared };
    this.kinds = [];
    for (const m of modules) {
      Object.assign(this.definitions, m.definitions);
      for (const k of m.kinds) {
        if (!this.definitions[k.definition]) throw new Error(`kind ${k.kind}: definition ${k.definition} missing`);
        this.kinds.push(k);
        this.byResource.set(`${k.group}/${k.version}/${k.plural}`, k);
        this.byKind.set(`${apiVersionOf(k)}/${k.kind}`, k);
      }
    }
  }

  /** The kind served at /api[s]/GROUP/VERSION/PLURAL. */
  resource(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byResource.get(`${group}/${version}/${plural}`);
  }

  /** The kind of an object by its apiVersion and kind. */
  kind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.byKind.get(`${apiVersion}/${kind}`);
  }

  /** Group versions in discovery order: core first, then groups by name. */
  groupVersions(): GroupVersion[] {
    const map = new Map<string, GroupVersion>();
    for (const k of this.kinds) {
      const key = `${k.group}/${k.version}`;
      let gv = map.get(key);
      if (!gv) map.set(key, (gv = { group: k.group, version: k.version, kinds: [] }));
      gv.kinds.push(k);
    }
    return [...map.values()].sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : a.group.localeCompare(b.group)));
  }

  /** Follow a $ref to its definition (one level). */
  resolve(s: Schema): Schema {
    let cur = s;
    for (let i = 0; cur.$ref && i < 16; i++) {
      const d = this.definitions[cur.$ref];
      if (!d) throw new Error(`schema $ref ${cur.$ref} not defined`);
      cur = d;
    }
    return cur;
  }
}

let defaultRegistry: Registry | undefined;
export function registry(): Registry {
  defaultRegistry ??= new Registry([core, apps, batch, coordination, discovery, lodge, policy, scheduling]);
  return defaultRegistry;
}
