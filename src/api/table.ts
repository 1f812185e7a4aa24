// Server-side printing (meta.k8s.io Table) and the metadata-only views
// (PartialObjectMetadata[List]) that kubectl and metadata informers ask for
// through the Accept header, plus the Accept parsing both this and discovery use.
import type { KubeObject, ObjectMeta, ResourceType } from '../apis/types.js';

// ---------------------------------------------------------------- Accept

export interface AcceptClause {
  type: string;
  subtype: string;
  params: Record<string, string>;
  q: number;
}

/**
 * Parse an Accept header into clauses, most preferred first: higher q first,
 * then concrete types before wildcards, otherwise in the client's order (the
 * same ordering apimachinery's negotiation uses). Clauses with q=0 are dropped.
 */
export function parseAccept(header: string | undefined): AcceptClause[] {
  const clauses: AcceptClause[] = [];
  for (const raw of (header ?? '').split(',')) {
    const [range, ...paramParts] = raw.trim().split(';');
    const [type, subtype, extra] = (range ?? '').trim().split('/').map((s) => s.trim().toLowerCase());
    if (!type || extra !== undefined) continue;
    const clause: AcceptClause = { type, subtype: subtype ?? (type === '*' ? '*' : ''), params: {}, q: 1 };
    if (!clause.subtype) continue;
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim();
      const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (k === 'q') clause.q = Number.isFinite(Number(v)) ? Number(v) : 0;
      else clause.params[k] = v;
    }
    if (clause.q > 0) clauses.push(clause);
  }
  const rank = (c: AcceptClause): number => (c.type === '*' ? 2 : c.subtype === '*' ? 1 : 0);
  return clauses
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.q - a.c.q || rank(a.c) - rank(b.c) || a.i - b.i)
    .map((x) => x.c);
}

/** Does the clause accept this concrete media type ("application/json")? */
export function clauseAccepts(c: AcceptClause, mediaType: string): boolean {
  const [type, subtype] = mediaType.split('/');
  return (c.type === '*' && c.subtype === '*') || (c.type === type && (c.subtype === '*' || c.subtype === subtype));
}

// ---------------------------------------------------------------- negotiation

export type MetaVersion = 'v1' | 'v1beta1';
export type MetaView = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

export interface ResponseFormat {
  /** The view the client asked for, or undefined for the plain object/list. */
  as?: MetaView;
  /** meta.k8s.io version of the view (Table v1 or v1beta1). */
  version: MetaVersion;
  /** Serialization to answer with; Content-Type is this media type alone, as the apiserver sends. */
  mediaType: 'application/json' | 'application/yaml';
  /** False when no clause was acceptable; the apiserver then serves JSON anyway. */
  matched: boolean;
}

const SERVED: Array<ResponseFormat['mediaType']> = ['application/json', 'application/yaml'];

/**
 * Pick the response format for a GET/LIST/WATCH from its Accept header, the way
 * the apiserver does: the first acceptable clause wins; a clause asking for a
 * conversion (as=;g=;v=) we cannot do is skipped rather than failing. kubectl get
 * sends `application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json`.
 * The caller answers 406 if the view does not fit the request
 * (PartialObjectMetadata for a list, PartialObjectMetadataList for one object).
 */
export function negotiateTable(accept: string | undefined): ResponseFormat {
  for (const c of parseAccept(accept || '*/*')) {
    for (const mediaType of SERVED) {
      if (!clauseAccepts(c, mediaType)) continue;
      const { as, g, v } = c.params;
      if (as === undefined && g === undefined && v === undefined) return { version: 'v1', mediaType, matched: true };
      if (g !== 'meta.k8s.io' || (v !== 'v1' && v !== 'v1beta1')) break;
      if (as === 'Table' || as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') {
        return { as, version: v, mediaType, matched: true };
      }
      break;
    }
  }
  return { version: 'v1', mediaType: 'application/json', matched: false };
}

// ---------------------------------------------------------------- metadata views

export interface ListMetaLike {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

function listMeta(m: ListMetaLike | undefined): ListMetaLike {
  const out: ListMetaLike = {};
  if (m?.resourceVersion !== undefined) out.resourceVersion = m.resourceVersion;
  if (m?.continue) out.continue = m.continue;
  if (m?.remainingItemCount !== undefined && m.remainingItemCount !== null) out.remainingItemCount = m.remainingItemCount;
  return out;
}

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: string;
  metadata: ObjectMeta;
}

/** An object reduced to its metadata, as metadata informers and Table rows carry it. */
export function toPartialObjectMetadata(obj: KubeObject, version: MetaVersion = 'v1'): PartialObjectMetadata {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: obj.metadata };
}

export function toPartialObjectMetadataList(objects: KubeObject[], meta?: ListMetaLike, version: MetaVersion = 'v1'): object {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMeta(meta),
    items: objects.map((o) => toPartialObjectMetadata(o, version)),
  };
}

// ---------------------------------------------------------------- Table

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  /** What each row carries in `object`; kubectl asks for Object (?includeObject=Object). Default Metadata, as the apiserver. */
  includeObject?: IncludeObject;
  listMeta?: ListMetaLike;
  version?: MetaVersion;
  /** Watch events after the first omit the column definitions, as the apiserver does. */
  omitColumns?: boolean;
  /** Clock for age columns (ms since epoch). */
  now?: number;
}

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: ListMetaLike;
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

// kubectl finds the name column by format "name" (for --show-kind, -o name on tables).
const NAME_COLUMN: TableColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name of the object, unique among objects of its kind in its namespace (or cluster, for cluster-scoped kinds).',
  priority: 0,
};

export function columnDefinitions(rt: Pick<ResourceType, 'columns' | 'nameColumn'>): TableColumnDefinition[] {
  const cols = rt.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority }));
  return rt.nameColumn === 'wide-last' ? [...cols, { ...NAME_COLUMN, priority: 1 }] : [{ ...NAME_COLUMN }, ...cols];
}

/** Render objects of one kind as a meta.k8s.io Table: Name first, then the kind's columns. */
export function toTable(rt: Pick<ResourceType, 'columns' | 'nameColumn'>, objects: KubeObject[], opts: TableOptions = {}): Table {
  const version = opts.version ?? 'v1';
  const include = opts.includeObject ?? 'Metadata';
  const now = opts.now ?? Date.now();
  const rows = objects.map((obj): TableRow => {
    const cells = rt.columns.map((c) => c.cell(obj, now));
    const name = obj.metadata.name ?? '';
    const row: TableRow = { cells: rt.nameColumn === 'wide-last' ? [...cells, name] : [name, ...cells] };
    if (include === 'Object') row.object = obj;
    else if (include === 'Metadata') row.object = toPartialObjectMetadata(obj, version);
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMeta(opts.listMeta),
    columnDefinitions: opts.omitColumns ? [] : columnDefinitions(rt),
    rows,
  };
}
