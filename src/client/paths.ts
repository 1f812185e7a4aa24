// URL paths of the Kubernetes REST API for a resolved resource.
export interface ResourceRef {
  group: string; // '' for core
  version: string;
  plural: string;
  namespaced: boolean;
  kind: string;
}

export interface PathOptions {
  /** Ignored for cluster-scoped resources; absent for a namespaced one = all namespaces. */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** "/api/v1" or "/apis/apps/v1". */
export function groupVersionPath(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

/** "v1" or "apps/v1". */
export function apiVersionOfRef(ref: Pick<ResourceRef, 'group' | 'version'>): string {
  return ref.group ? `${ref.group}/${ref.version}` : ref.version;
}

/**
 * /api/v1/namespaces/NS/pods/NAME[/SUB], /apis/G/V/PLURAL for cluster-scoped
 * kinds, /api/v1/pods for namespaced kinds across all namespaces.
 */
export function resourcePath(ref: ResourceRef, opts: PathOptions = {}): string {
  let p = groupVersionPath(ref.group, ref.version);
  if (ref.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  p += `/${ref.plural}`;
  if (opts.name !== undefined) {
    if (opts.name === '') throw new Error(`resource name for ${ref.plural} may not be empty`);
    p += `/${encodeURIComponent(opts.name)}`;
  }
  if (opts.subresource) p += `/${opts.subresource}`;
  return p;
}

export type QueryValue = string | number | boolean | undefined;

/** "?a=1&b=x" from the defined entries, "" when there are none. */
export function queryString(q: Record<string, QueryValue> | undefined): string {
  if (!q) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}
