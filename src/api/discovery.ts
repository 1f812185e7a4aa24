// API discovery documents built from the Registry: /version, the legacy
// /api, /apis, /api/v1, /apis/G/V lists, and the aggregated
// apidiscovery.k8s.io v2/v2beta1 documents kubectl 1.26+ fetches in one round trip.
// client-go decides which format it got from the response Content-Type, so the
// negotiation here and the Content-Type the server sends must agree.
import { createHash } from 'node:crypto';
import type { Registry } from '../apis/registry.js';
import type { ResourceType } from '../apis/types.js';
import { clauseAccepts, parseAccept } from './table.js';

// ---------------------------------------------------------------- /version

export interface VersionInfoOptions {
  /** Kubernetes version Lodge claims compatibility with (kubectl's skew warning compares minors). */
  kubernetes?: string;
  /** Appended as semver pre-release, as managed distributions do (v1.33.0-gke.1). */
  build?: string;
  gitCommit?: string;
  buildDate?: string;
}

export const KUBERNETES_VERSION = '1.33.0';

/** The /version document (`kubectl version`, client-go ServerVersion). */
export function versionInfo(opts: VersionInfoOptions = {}): Record<string, string> {
  const [major = '1', minor = '0'] = (opts.kubernetes ?? KUBERNETES_VERSION).split('.');
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'ia32' ? '386' : process.arch;
  return {
    major,
    minor,
    // emulation/minCompatibility arrived in 1.32; kubectl prints them with -o yaml.
    emulationMajor: major,
    emulationMinor: minor,
    minCompatibilityMajor: major,
    minCompatibilityMinor: String(Math.max(0, Number(minor) - 1)),
    gitVersion: `v${opts.kubernetes ?? KUBERNETES_VERSION}-${opts.build ?? 'lodge'}`,
    gitCommit: opts.gitCommit ?? '',
    gitTreeState: 'clean',
    buildDate: opts.buildDate ?? '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${process.platform}/${arch}`,
  };
}

// ---------------------------------------------------------------- helpers

export interface SubresourceInfo {
  /** e.g. 'status', 'scale', 'log', 'exec'. */
  name: string;
  /** What the subresource returns; defaults to the parent kind. */
  kind?: { group: string; version: string; kind: string };
  verbs: string[];
}

export interface DiscoveryOptions {
  /** Verbs per kind; default all eight CRUD/watch verbs. */
  verbs?(rt: ResourceType): string[];
  /** Subresources per kind; default 'status' (get, patch, update) when the kind has one. */
  subresources?(rt: ResourceType): SubresourceInfo[];
}

export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function verbsOf(rt: ResourceType, o: DiscoveryOptions): string[] {
  return [...(o.verbs?.(rt) ?? RESOURCE_VERBS)].sort();
}

function subresourcesOf(rt: ResourceType, o: DiscoveryOptions): SubresourceInfo[] {
  if (o.subresources) return o.subresources(rt);
  return rt.statusSubresource ? [{ name: 'status', verbs: ['get', 'patch', 'update'] }] : [];
}

/**
 * apimachinery's StorageVersionHash: base64 of the first 8 bytes of
 * sha256("group/version/kind"). Clients (the storage-version migrator, some
 * caches) only compare it, but a real-looking value costs nothing.
 */
export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

/**
 * Kubernetes' version ordering: GA > beta > alpha, higher numbers first, then
 * anything non-conforming alphabetically. Negative when a sorts first.
 */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stability = m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stability, Number(m[1]), m[3] ? Number(m[3]) : 0];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    // Stability first (v1 > v2beta1), then major, then the pre-release number.
    for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pb[i] as number) - (pa[i] as number);
    return 0;
  }
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface GroupInfo {
  name: string;
  versions: Array<{ version: string; kinds: ResourceType[] }>;
}

/** Groups in discovery order (core first), each with its versions preferred-first. */
function groups(reg: Registry): GroupInfo[] {
  const out: GroupInfo[] = [];
  for (const gv of reg.groupVersions()) {
    let g = out.find((x) => x.name === gv.group);
    if (!g) out.push((g = { name: gv.group, versions: [] }));
    g.versions.push({ version: gv.version, kinds: gv.kinds });
  }
  for (const g of out) g.versions.sort((a, b) => compareKubeVersions(a.version, b.version));
  return out;
}

const gvString = (group: string, version: string): string => (group ? `${group}/${version}` : version);

// ---------------------------------------------------------------- legacy discovery

/** GET /api: APIVersions. serverAddress is what clients outside the cluster should use (informational). */
export function apiVersions(reg: Registry, serverAddress = ''): object {
  const core = groups(reg).find((g) => g.name === '');
  return {
    kind: 'APIVersions',
    versions: core ? core.versions.map((v) => v.version) : ['v1'],
    serverAddressByClientCIDRs: serverAddress ? [{ clientCIDR: '0.0.0.0/0', serverAddress }] : [],
  };
}

function apiGroupBody(g: GroupInfo): object {
  const versions = g.versions.map((v) => ({ groupVersion: gvString(g.name, v.version), version: v.version }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

/** GET /apis: APIGroupList of every named group (the core group lives at /api). */
export function apiGroupList(reg: Registry): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(reg).filter((g) => g.name !== '').map(apiGroupBody) };
}

/** GET /apis/GROUP: one APIGroup, or undefined (404). */
export function apiGroup(reg: Registry, group: string): object | undefined {
  const g = groups(reg).find((x) => x.name === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupBody(g) } : undefined;
}

export interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

function apiResources(rt: ResourceType, o: DiscoveryOptions): APIResource[] {
  const main: APIResource = { name: rt.plural, singularName: rt.singular, namespaced: rt.namespaced, kind: rt.kind, verbs: verbsOf(rt, o) };
  if (rt.shortNames?.length) main.shortNames = [...rt.shortNames];
  if (rt.categories?.length) main.categories = [...rt.categories];
  main.storageVersionHash = storageVersionHash(rt.group, rt.version, rt.kind);
  const subs = subresourcesOf(rt, o).map((s): APIResource => {
    const r: APIResource = { name: `${rt.plural}/${s.name}`, singularName: '', namespaced: rt.namespaced, kind: s.kind?.kind ?? rt.kind, verbs: [...s.verbs].sort() };
    // Group/version only when the subresource answers with another group's kind (deployments/scale -> autoscaling/v1 Scale).
    if (s.kind && (s.kind.group !== rt.group || s.kind.version !== rt.version)) Object.assign(r, { group: s.kind.group, version: s.kind.version });
    return r;
  });
  return [main, ...subs];
}

/** GET /api/v1 or /apis/GROUP/VERSION: APIResourceList, or undefined (404). */
export function apiResourceList(reg: Registry, group: string, version: string, o: DiscoveryOptions = {}): object | undefined {
  const gv = reg.groupVersions().find((x) => x.group === group && x.version === version);
  if (!gv) return undefined;
  const resources = [...gv.kinds].sort((a, b) => (a.plural < b.plural ? -1 : 1)).flatMap((rt) => apiResources(rt, o));
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(group, version), resources };
}

// ---------------------------------------------------------------- aggregated discovery

export type AggregatedVersion = 'v2' | 'v2beta1';
export type DiscoveryFormat = AggregatedVersion | 'legacy';

interface GVK {
  group: string;
  version: string;
  kind: string;
}

export interface APIResourceDiscovery {
  resource: string;
  responseKind: GVK;
  scope: 'Cluster' | 'Namespaced';
  singularResource: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: Array<{ subresource: string; responseKind: GVK; verbs: string[] }>;
}

function resourceDiscovery(rt: ResourceType, o: DiscoveryOptions): APIResourceDiscovery {
  // responseKind is spelled out in full (as for CRDs): client-go turns it into
  // APIResource.group/version and drops resources whose responseKind is empty.
  const self: GVK = { group: rt.group, version: rt.version, kind: rt.kind };
  const r: APIResourceDiscovery = {
    resource: rt.plural,
    responseKind: self,
    scope: rt.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: rt.singular,
    verbs: verbsOf(rt, o),
  };
  if (rt.shortNames?.length) r.shortNames = [...rt.shortNames];
  if (rt.categories?.length) r.categories = [...rt.categories];
  const subs = subresourcesOf(rt, o);
  if (subs.length) r.subresources = subs.map((s) => ({ subresource: s.name, responseKind: { ...(s.kind ?? self) }, verbs: [...s.verbs].sort() }));
  return r;
}

/**
 * The aggregated discovery document for /api (root 'api': the core group only)
 * or /apis (every named group), as APIGroupDiscoveryList in
 * apidiscovery.k8s.io/v2 or v2beta1 (same shape; only apiVersion differs).
 */
export function aggregatedDiscovery(reg: Registry, root: 'api' | 'apis', version: AggregatedVersion = 'v2', o: DiscoveryOptions = {}): object {
  const items = groups(reg)
    .filter((g) => (root === 'api' ? g.name === '' : g.name !== ''))
    .map((g) => ({
      metadata: g.name ? { name: g.name } : {},
      versions: g.versions.map((v) => ({
        version: v.version,
        resources: [...v.kinds].sort((a, b) => (a.plural < b.plural ? -1 : 1)).map((rt) => resourceDiscovery(rt, o)),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

/**
 * Which discovery format to answer /api or /apis with. Like the apiserver, walk
 * the Accept clauses in preference order and take the first we can serve:
 * application/json with g=apidiscovery.k8s.io;v=v2|v2beta1;as=APIGroupDiscoveryList
 * is aggregated; plain application/json (or a wildcard) is legacy; a clause
 * asking for any other conversion, or for protobuf, is skipped.
 * Unknown parameters (profile=nopeer, charset) do not matter.
 */
export function negotiateDiscovery(accept: string | undefined): DiscoveryFormat {
  for (const c of parseAccept(accept || '*/*')) {
    if (!clauseAccepts(c, 'application/json')) continue;
    const { g, v, as } = c.params;
    if (g === undefined && v === undefined && as === undefined) return 'legacy';
    if (g === 'apidiscovery.k8s.io' && as === 'APIGroupDiscoveryList' && (v === 'v2' || v === 'v2beta1')) return v;
  }
  return 'legacy';
}

/**
 * The Content-Type to answer a discovery request with. client-go only treats the
 * body as aggregated when the Content-Type carries g, v and as; the apiserver
 * writes them in this order.
 */
export function discoveryContentType(format: DiscoveryFormat): string {
  return format === 'legacy' ? 'application/json' : `application/json;g=apidiscovery.k8s.io;v=${format};as=APIGroupDiscoveryList`;
}
