// Turning what a user types ("po", "pods", "Pod", "deployments.apps",
// "deploy", "instances.lodge.dev") or what a manifest says (apiVersion + kind)
// into a ResourceRef, from the server's own discovery documents: /api,
// /api/v1, /apis and /apis/G/V. Fetched once per client and cached, so a CLI
// command costs one round of discovery and a long-running component none.
import type { KubeClient } from './client.js';
import { isNotFound } from './errors.js';
import { groupVersionPath, type ResourceRef } from './paths.js';

export interface DiscoveredResource extends ResourceRef {
  singular: string;
  shortNames: string[];
  categories: string[];
  verbs: string[];
}

interface ApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
}

interface ApiGroup {
  name: string;
  versions: Array<{ groupVersion: string; version: string }>;
  preferredVersion?: { groupVersion: string; version: string };
}

export class Discovery {
  /** Resources of each group version fetched so far, keyed "group/version". */
  private readonly byGroupVersion = new Map<string, Promise<DiscoveredResource[]>>();
  /** Preferred versions of all groups, core first: what names resolve against. */
  private preferred?: Promise<DiscoveredResource[]>;

  constructor(private readonly client: KubeClient) {}

  /** Forget everything; the next lookup asks the server again. */
  invalidate(): void {
    this.byGroupVersion.clear();
    this.preferred = undefined;
  }

  /** Every top-level resource in the preferred version of each group. */
  resources(): Promise<DiscoveredResource[]> {
    this.preferred ??= this.fetchPreferred().catch((err: unknown) => {
      this.preferred = undefined; // do not cache a failure
      throw err;
    });
    return this.preferred;
  }

  /** The resources of one group version ('' group = core). */
  groupVersion(group: string, version: string): Promise<DiscoveredResource[]> {
    const key = `${group}/${version}`;
    let p = this.byGroupVersion.get(key);
    if (!p) {
      p = this.fetchGroupVersion(group, version).catch((err: unknown) => {
        this.byGroupVersion.delete(key);
        throw err;
      });
      this.byGroupVersion.set(key, p);
    }
    return p;
  }

  /** Resolve a resource as typed on a command line; kubectl's rules, core group first. */
  async resolve(typed: string): Promise<DiscoveredResource> {
    const found = matchResource(await this.resources(), typed);
    if (found) return found;
    // Maybe the server learned a kind since we looked; ask once more.
    this.invalidate();
    const again = matchResource(await this.resources(), typed);
    if (again) return again;
    throw new Error(`the server doesn't have a resource type "${typed}"`);
  }

  /** The resource of a manifest's apiVersion and kind. */
  async forKind(apiVersion: string, kind: string): Promise<DiscoveredResource> {
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    let list: DiscoveredResource[] = [];
    try {
      list = await this.groupVersion(group, version);
    } catch (err) {
      if (!isNotFound(err)) throw err; // an unknown group version is "no match", below
    }
    const found = list.find((r) => r.kind === kind);
    if (!found) throw new Error(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return found;
  }

  private async fetchPreferred(): Promise<DiscoveredResource[]> {
    const [core, groups] = await Promise.all([
      this.client.requestJson<{ versions?: string[] }>({ path: '/api' }),
      this.client.requestJson<{ groups?: ApiGroup[] }>({ path: '/apis' }),
    ]);
    const gvs: Array<[string, string]> = [];
    // Kubernetes serves only v1 in the core group; take its first listed version.
    const coreVersion = core.versions?.[0];
    if (coreVersion) gvs.push(['', coreVersion]);
    for (const g of groups.groups ?? []) {
      const v = g.preferredVersion?.version ?? g.versions[0]?.version;
      if (v) gvs.push([g.name, v]);
    }
    const lists = await Promise.all(gvs.map(([g, v]) => this.groupVersion(g, v)));
    return lists.flat();
  }

  private async fetchGroupVersion(group: string, version: string): Promise<DiscoveredResource[]> {
    const doc = await this.client.requestJson<{ resources?: ApiResource[] }>({ path: groupVersionPath(group, version) });
    return (doc.resources ?? [])
      .filter((r) => !r.name.includes('/')) // subresources like pods/status
      .map((r) => ({
        group,
        version,
        plural: r.name,
        kind: r.kind,
        namespaced: r.namespaced,
        singular: r.singularName || r.kind.toLowerCase(),
        shortNames: r.shortNames ?? [],
        categories: r.categories ?? [],
        verbs: r.verbs ?? [],
      }));
  }
}

/**
 * kubectl's matching: "NAME", "NAME.GROUP" or "NAME.VERSION.GROUP", where NAME
 * is the plural, singular, kind or a short name (case-insensitive). Full names
 * win over short names; among equals, the earlier group (core first) wins.
 */
export function matchResource(resources: DiscoveredResource[], typed: string): DiscoveredResource | undefined {
  const lower = typed.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const qualifier = dot < 0 ? undefined : lower.slice(dot + 1);
  const inGroup = (r: DiscoveredResource): boolean =>
    qualifier === undefined || r.group === qualifier || `${r.version}.${r.group}` === qualifier || (r.group === '' && qualifier === r.version);
  const candidates = resources.filter(inGroup);
  return (
    candidates.find((r) => r.plural === name || r.singular === name || r.kind.toLowerCase() === name) ??
    candidates.find((r) => r.shortNames.some((s) => s.toLowerCase() === name))
  );
}
