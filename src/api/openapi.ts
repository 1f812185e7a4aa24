// OpenAPI documents generated from the Registry: Swagger 2.0 at /openapi/v2,
// and per group-version OpenAPI 3.0 documents behind the /openapi/v3 index.
//
// kubectl reads v3 for three things, each with a precise expectation:
//  - `kubectl explain` finds the kind through x-kubernetes-group-version-kind
//    on an operation of /api[s]/.../RESOURCE (object form), then the schema whose
//    x-kubernetes-group-version-kind list (array form) holds that exact
//    {group, kind, version}, and follows "#/components/schemas/..." refs.
//  - server-side field validation is used only if the first PATCH operation
//    carrying the kind's GVK lists a `fieldValidation` parameter on the
//    operation itself (path-level parameters are not looked at), otherwise
//    kubectl falls back to client-side validation with /openapi/v2 protobuf.
//  - client-side apply reads x-kubernetes-patch-merge-key/-strategy.
// kubectl 1.27/1.28 also load /openapi/v2 up front for explain, create and
// apply, and only as protobuf (gnostic's openapi_v2.Document), so v2 is
// served in that encoding too (see encodeOpenAPIV2Protobuf).
import { createHash } from 'node:crypto';
import { LIST_META, META } from '../apis/meta/v1.js';
import type { Registry } from '../apis/registry.js';
import { arr, bool, int32, int64, obj, ref, str, type Schema } from '../apis/schema.js';
import { apiVersionOf, type ResourceType } from '../apis/types.js';
import { KUBERNETES_VERSION } from './discovery.js';
import { clauseAccepts, parseAccept } from './table.js';

type JsonObject = Record<string, unknown>;
type Target = 'v2' | 'v3';

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;
const PATCH = `${META}.Patch`;

/** Where a definition lives in each document format. */
const refPrefix = (t: Target): string => (t === 'v2' ? '#/definitions/' : '#/components/schemas/');

// ---------------------------------------------------------------- descriptions

const API_VERSION_DOC = 'The group/version of the schema this object is written in; the server rejects versions it does not serve.';
const KIND_DOC = 'The kind of REST resource this object is, in CamelCase; taken from the endpoint when omitted, and cannot be changed.';
const METADATA_DOC = 'Standard object metadata: name, namespace, labels, annotations, owners and server-set fields.';

/** The description `kubectl explain KIND` prints for a kind. */
export function kindDescription(reg: Registry, rt: ResourceType): string {
  const def = reg.definitions[rt.definition];
  const d = def ? reg.resolve(def).description : undefined;
  return d?.trim() || `${rt.kind} is a ${apiVersionOf(rt)} ${rt.namespaced ? 'namespaced' : 'cluster-scoped'} resource served by Lodge.`;
}

/** A kind's schema as published: described, with apiVersion/kind/metadata documented. */
export function describedKindSchema(reg: Registry, rt: ResourceType): Schema {
  const base = reg.definitions[rt.definition] as Schema;
  const props = { ...(base.properties ?? {}) };
  props.apiVersion = { type: 'string', ...props.apiVersion, description: props.apiVersion?.description ?? API_VERSION_DOC };
  props.kind = { type: 'string', ...props.kind, description: props.kind?.description ?? KIND_DOC };
  if (props.metadata && !props.metadata.description) props.metadata = { ...props.metadata, description: METADATA_DOC };
  return { ...base, description: kindDescription(reg, rt), properties: props };
}

// ---------------------------------------------------------------- schema conversion

/** Convert a Registry schema to document JSON for v2 or v3. */
export function convertSchema(s: Schema, target: Target): JsonObject {
  if (s['x-kubernetes-int-or-string']) return intOrStringField(s, target);
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined) continue;
    if (k === '$ref') out.$ref = refPrefix(target) + (v as string);
    else if (k === 'properties') out.properties = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, convertSchema(ps, target)]));
    else if (k === 'items') out.items = convertSchema(v as Schema, target);
    else if (k === 'additionalProperties') out.additionalProperties = typeof v === 'boolean' ? v : convertSchema(v as Schema, target);
    else out[k] = v;
  }
  return out;
}

// v2 keeps int-or-string inline (type string, format int-or-string, as
// Kubernetes' v2 IntOrString); v3 points at the shared IntOrString/Quantity
// components exactly like built-in Kubernetes kinds, so explain prints
// <IntOrString> / <Quantity> and the value may be either JSON type.
function intOrStringField(s: Schema, target: Target): JsonObject {
  const quantity = s.format === 'quantity';
  const extra: JsonObject = {};
  if (s.description) extra.description = s.description;
  if (s.default !== undefined) extra.default = s.default;
  if (target === 'v3') return { $ref: refPrefix('v3') + (quantity ? QUANTITY : INT_OR_STRING), ...extra };
  const out: JsonObject = { type: 'string', ...extra, 'x-kubernetes-int-or-string': true };
  if (!quantity) out.format = 'int-or-string';
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-kubernetes-') && !(k in out)) out[k] = v;
  return out;
}

function builtinScalars(target: Target): Record<string, JsonObject> {
  const ios = 'IntOrString is a type that can hold an int32 or a string. In JSON or YAML it is written as whichever it holds.';
  const qty = 'Quantity is a fixed-point number: a plain number or one with a suffix (m, k, Ki, M, Mi, G, Gi, ...), e.g. "500m", "1Gi", 2.';
  if (target === 'v2') {
    return { [INT_OR_STRING]: { description: ios, type: 'string', format: 'int-or-string' }, [QUANTITY]: { description: qty, type: 'string' } };
  }
  return {
    [INT_OR_STRING]: { description: ios, format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] },
    [QUANTITY]: { description: qty, oneOf: [{ type: 'string' }, { type: 'number' }] },
  };
}

// ---------------------------------------------------------------- definitions

const gvkOf = (rt: ResourceType, kind = rt.kind): { group: string; kind: string; version: string } => ({ group: rt.group, kind, version: rt.version });
const listDefinitionName = (rt: ResourceType): string => `${rt.definition}List`;

/** apimachinery types every document refers to from its operations. */
function apimachineryDefinitions(): Record<string, Schema> {
  const core = (kind: string): Schema['x-kubernetes-group-version-kind'] => [{ group: '', kind, version: 'v1' }];
  return {
    [`${META}.StatusCause`]: obj({
      reason: str('A machine-readable description of the cause of the error.'),
      message: str('A human-readable description of the cause of the error.'),
      field: str('The field of the resource that caused the error, e.g. "spec.containers[0].name".'),
    }, { description: 'More information about a failure, naming the field when there is one.' }),
    [`${META}.StatusDetails`]: obj({
      name: str('The name of the object the status refers to.'),
      group: str('The group of the object the status refers to.'),
      kind: str('The kind of the object the status refers to.'),
      uid: str('The UID of the object the status refers to.'),
      causes: arr(ref(`${META}.StatusCause`), { description: 'The causes of the failure.' }),
      retryAfterSeconds: int32('Seconds the client should wait before retrying.'),
    }, { description: 'Extra data about a failure the server may return.' }),
    [STATUS]: {
      ...obj({
        apiVersion: str(API_VERSION_DOC),
        kind: str(KIND_DOC),
        metadata: ref(LIST_META, 'Standard list metadata.'),
        status: str('"Success" or "Failure".'),
        message: str('A human-readable description of the status of this operation.'),
        reason: str('A machine-readable reason, e.g. NotFound, AlreadyExists, Conflict, Invalid.'),
        details: ref(`${META}.StatusDetails`, 'Extended data associated with the reason.'),
        code: int32('The HTTP status code for this status.'),
      }, { description: 'Status is the result of an operation that does not return an object.' }),
      'x-kubernetes-group-version-kind': core('Status'),
    },
    [`${META}.Preconditions`]: obj({
      uid: str('The target object must have this UID.'),
      resourceVersion: str('The target object must have this resourceVersion.'),
    }, { description: 'Conditions that must hold before an operation is carried out.' }),
    [DELETE_OPTIONS]: {
      ...obj({
        apiVersion: str(API_VERSION_DOC),
        kind: str(KIND_DOC),
        gracePeriodSeconds: int64('Seconds before the object is deleted; 0 deletes immediately.'),
        preconditions: ref(`${META}.Preconditions`, 'Must be fulfilled before the deletion is carried out, or the server answers 409 Conflict.'),
        orphanDependents: bool('Deprecated: use propagationPolicy.'),
        propagationPolicy: str("How dependents are garbage collected: 'Orphan', 'Background' or 'Foreground'."),
        dryRun: arr(str(), { description: 'When present ("All"), the deletion is validated but not persisted.' }),
      }, { description: 'DeleteOptions may be provided when deleting an API object.' }),
      'x-kubernetes-group-version-kind': core('DeleteOptions'),
    },
    [PATCH]: { type: 'object', description: 'Patch is the body of a PATCH request: a JSON patch, merge patch, strategic merge patch or apply configuration.' },
  };
}

/** Every definition a document may need, in Registry form, with GVK extensions on kinds and their lists. */
function allDefinitions(reg: Registry): Record<string, Schema> {
  const defs: Record<string, Schema> = { ...apimachineryDefinitions(), ...reg.definitions };
  const gvks = new Map<string, Array<{ group: string; kind: string; version: string }>>();
  const addGVK = (name: string, g: { group: string; kind: string; version: string }): void => {
    const list = gvks.get(name) ?? [...(defs[name]?.['x-kubernetes-group-version-kind'] ?? [])];
    if (!list.some((x) => x.group === g.group && x.kind === g.kind && x.version === g.version)) list.push(g);
    gvks.set(name, list);
  };
  for (const rt of reg.kinds) {
    defs[rt.definition] = describedKindSchema(reg, rt);
    addGVK(rt.definition, gvkOf(rt));
    const listName = listDefinitionName(rt);
    defs[listName] ??= obj(
      {
        apiVersion: str(API_VERSION_DOC),
        kind: str(KIND_DOC),
        metadata: ref(LIST_META, 'Standard list metadata.'),
        items: arr(ref(rt.definition), { description: `List of ${rt.plural}.` }),
      },
      { description: `${rt.kind}List is a list of ${rt.kind} objects.`, required: ['items'] },
    );
    addGVK(listName, gvkOf(rt, `${rt.kind}List`));
  }
  for (const [name, list] of gvks) defs[name] = { ...defs[name], 'x-kubernetes-group-version-kind': list };
  return defs;
}

/** Names reachable from `roots` through $refs (converted documents use prefixed refs). */
function reachable(defs: Record<string, JsonObject>, roots: string[], target: Target): string[] {
  const seen = new Set<string>();
  const prefix = refPrefix(target);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string' && x.startsWith(prefix)) visit(x.slice(prefix.length));
        else walk(x);
      }
    }
  };
  const visit = (name: string): void => {
    if (seen.has(name) || !defs[name]) return;
    seen.add(name);
    walk(defs[name]);
  };
  roots.forEach(visit);
  return [...seen].sort();
}

function convertedDefinitions(reg: Registry, target: Target): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const [name, s] of Object.entries(allDefinitions(reg))) out[name] = convertSchema(s, target);
  return { ...out, ...builtinScalars(target) };
}

// ---------------------------------------------------------------- operations

interface Param {
  name: string;
  in: 'query' | 'path';
  type: 'string' | 'boolean' | 'integer';
  description: string;
  required?: boolean;
}

const q = (name: string, type: Param['type'], description: string): Param => ({ name, in: 'query', type, description });

const P = {
  pretty: q('pretty', 'string', "If 'true', the output is pretty printed."),
  dryRun: q('dryRun', 'string', 'When present ("All"), the request is validated and defaulted but not persisted.'),
  fieldManager: q('fieldManager', 'string', 'Name of the actor making the change, recorded in managedFields. Required for apply patches.'),
  fieldValidation: q('fieldValidation', 'string', 'What to do with unknown or duplicate fields in the request body: Ignore, Warn, or Strict (fail the request).'),
  force: q('force', 'boolean', 'Force an apply patch: take over fields owned by other managers. Must be unset for other patch types.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'Seconds before the object is deleted; 0 deletes immediately.'),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated: use propagationPolicy.'),
  propagationPolicy: q('propagationPolicy', 'string', "How dependents are garbage collected: 'Orphan', 'Background' or 'Foreground'."),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'Ask for BOOKMARK events in a watch.'),
  continue: q('continue', 'string', 'Token from a previous page of a limited list, to get the next page.'),
  fieldSelector: q('fieldSelector', 'string', 'Restrict the list by fields, e.g. metadata.name=foo.'),
  labelSelector: q('labelSelector', 'string', 'Restrict the list by labels, e.g. app=web,tier in (a,b).'),
  limit: q('limit', 'integer', 'Maximum number of items to return; continue with the returned token.'),
  resourceVersion: q('resourceVersion', 'string', 'Which version of the data the list or watch may be served from.'),
  resourceVersionMatch: q('resourceVersionMatch', 'string', 'How resourceVersion applies to a list: NotOlderThan or Exact.'),
  sendInitialEvents: q('sendInitialEvents', 'boolean', 'Start a watch with synthetic ADDED events for the current state.'),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Timeout for the list or watch call.'),
  watch: q('watch', 'boolean', 'Watch for changes instead of listing.'),
};

const LIST_PARAMS = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];
const DELETE_COLLECTION_PARAMS = [...DELETE_PARAMS, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds];

type Action = 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection';
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

interface Op {
  method: Method;
  action: Action;
  operationId: string;
  description: string;
  params: Param[];
  /** Definition of the request body, if any. */
  body?: string;
  bodyRequired?: boolean;
  /** Status code -> definition. */
  responses: Record<string, string>;
  watchable?: boolean;
}

interface PathItem {
  path: string;
  params: Param[];
  ops: Op[];
}

const PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json'];
const SMP_TYPE = 'application/strategic-merge-patch+json';

/** "CoreV1", "AppsV1", "CoordinationV1", "LodgeDevV1alpha1": operationId infix, as Kubernetes names them. */
function gvName(group: string, version: string): string {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '');
  const camel = g.split(/[.-]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
  return camel + version.charAt(0).toUpperCase() + version.slice(1);
}

function tagOf(rt: ResourceType): string {
  const n = gvName(rt.group, '');
  return `${n.charAt(0).toLowerCase()}${n.slice(1)}_${rt.version}`;
}

function pathItems(rt: ResourceType): PathItem[] {
  const base = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const gv = gvName(rt.group, rt.version);
  const scoped = rt.namespaced ? 'Namespaced' : '';
  const collection = rt.namespaced ? `${base}/namespaces/{namespace}/${rt.plural}` : `${base}/${rt.plural}`;
  const ns: Param[] = rt.namespaced ? [{ name: 'namespace', in: 'path', type: 'string', required: true, description: 'Namespace of the object.' }] : [];
  const name: Param = { name: 'name', in: 'path', type: 'string', required: true, description: `name of the ${rt.kind}` };
  const def = rt.definition;
  const list = listDefinitionName(rt);
  const items: PathItem[] = [
    {
      path: collection,
      params: [...ns, P.pretty],
      ops: [
        { method: 'get', action: 'list', operationId: `list${gv}${scoped}${rt.kind}`, description: `list or watch objects of kind ${rt.kind}`, params: LIST_PARAMS, responses: { 200: list }, watchable: true },
        { method: 'post', action: 'post', operationId: `create${gv}${scoped}${rt.kind}`, description: `create a ${rt.kind}`, params: WRITE_PARAMS, body: def, bodyRequired: true, responses: { 200: def, 201: def, 202: def } },
        { method: 'delete', action: 'deletecollection', operationId: `delete${gv}Collection${scoped}${rt.kind}`, description: `delete collection of ${rt.kind}`, params: DELETE_COLLECTION_PARAMS, body: DELETE_OPTIONS, responses: { 200: STATUS } },
      ],
    },
    {
      path: `${collection}/{name}`,
      params: [name, ...ns, P.pretty],
      ops: [
        { method: 'get', action: 'get', operationId: `read${gv}${scoped}${rt.kind}`, description: `read the specified ${rt.kind}`, params: [], responses: { 200: def } },
        { method: 'put', action: 'put', operationId: `replace${gv}${scoped}${rt.kind}`, description: `replace the specified ${rt.kind}`, params: WRITE_PARAMS, body: def, bodyRequired: true, responses: { 200: def, 201: def } },
        { method: 'patch', action: 'patch', operationId: `patch${gv}${scoped}${rt.kind}`, description: `partially update the specified ${rt.kind}`, params: [...WRITE_PARAMS, P.force], body: PATCH, bodyRequired: true, responses: { 200: def, 201: def } },
        { method: 'delete', action: 'delete', operationId: `delete${gv}${scoped}${rt.kind}`, description: `delete a ${rt.kind}`, params: DELETE_PARAMS, body: DELETE_OPTIONS, responses: { 200: STATUS, 202: STATUS } },
      ],
    },
  ];
  if (rt.statusSubresource) {
    // Status operations carry the kind's GVK too, so they must also list fieldValidation (kubectl may meet either PATCH first).
    items.push({
      path: `${collection}/{name}/status`,
      params: [name, ...ns, P.pretty],
      ops: [
        { method: 'get', action: 'get', operationId: `read${gv}${scoped}${rt.kind}Status`, description: `read status of the specified ${rt.kind}`, params: [], responses: { 200: def } },
        { method: 'put', action: 'put', operationId: `replace${gv}${scoped}${rt.kind}Status`, description: `replace status of the specified ${rt.kind}`, params: WRITE_PARAMS, body: def, bodyRequired: true, responses: { 200: def, 201: def } },
        { method: 'patch', action: 'patch', operationId: `patch${gv}${scoped}${rt.kind}Status`, description: `partially update status of the specified ${rt.kind}`, params: [...WRITE_PARAMS, P.force], body: PATCH, bodyRequired: true, responses: { 200: def, 201: def } },
      ],
    });
  }
  if (rt.namespaced) {
    items.push({
      path: `${base}/${rt.plural}`,
      params: [P.pretty],
      ops: [{ method: 'get', action: 'list', operationId: `list${gv}${rt.kind}ForAllNamespaces`, description: `list or watch objects of kind ${rt.kind}`, params: LIST_PARAMS, responses: { 200: list }, watchable: true }],
    });
  }
  return items;
}

const RESPONSE_TEXT: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 401: 'Unauthorized' };
const MEDIA = ['application/json', 'application/yaml'];

function v2Param(p: Param): JsonObject {
  const out: JsonObject = { uniqueItems: true, type: p.type, description: p.description, name: p.name, in: p.in };
  if (p.required) out.required = true;
  return out;
}

function v3Param(p: Param): JsonObject {
  const out: JsonObject = { name: p.name, in: p.in, description: p.description };
  if (p.required) out.required = true;
  out.schema = { type: p.type, uniqueItems: true };
  return out;
}

function v2Operation(rt: ResourceType, op: Op): JsonObject {
  const r = refPrefix('v2');
  const params = op.params.map(v2Param);
  if (op.body) params.push({ name: 'body', in: 'body', ...(op.bodyRequired ? { required: true } : {}), schema: { $ref: r + op.body } });
  const responses: JsonObject = {};
  for (const [code, def] of Object.entries(op.responses)) responses[code] = { description: RESPONSE_TEXT[code], schema: { $ref: r + def } };
  responses['401'] = { description: 'Unauthorized' };
  return {
    description: op.description,
    consumes: op.method === 'patch' ? [...PATCH_TYPES, ...(rt.strategicMergePatch ? [SMP_TYPE] : [])] : ['*/*'],
    produces: op.watchable ? [...MEDIA, 'application/json;stream=watch'] : MEDIA,
    schemes: ['https'],
    tags: [tagOf(rt)],
    operationId: op.operationId,
    parameters: params,
    responses,
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': gvkOf(rt),
  };
}

function v3Operation(rt: ResourceType, op: Op): JsonObject {
  const r = refPrefix('v3');
  const out: JsonObject = { tags: [tagOf(rt)], description: op.description, operationId: op.operationId };
  if (op.params.length) out.parameters = op.params.map(v3Param);
  if (op.body) {
    const types = op.method === 'patch' ? [...PATCH_TYPES, ...(rt.strategicMergePatch ? [SMP_TYPE] : [])] : op.method === 'delete' ? ['application/json'] : MEDIA;
    out.requestBody = { content: Object.fromEntries(types.map((t) => [t, { schema: { $ref: r + op.body } }])), ...(op.bodyRequired ? { required: true } : {}) };
  }
  const media = op.watchable ? [...MEDIA, 'application/json;stream=watch'] : MEDIA;
  const responses: JsonObject = {};
  for (const [code, def] of Object.entries(op.responses)) {
    responses[code] = { description: RESPONSE_TEXT[code], content: Object.fromEntries(media.map((m) => [m, { schema: { $ref: r + def } }])) };
  }
  responses['401'] = { description: 'Unauthorized' };
  out.responses = responses;
  out['x-kubernetes-action'] = op.action;
  out['x-kubernetes-group-version-kind'] = gvkOf(rt);
  return out;
}

function paths(kinds: ResourceType[], target: Target): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  const sorted = [...kinds].sort((a, b) => (a.plural < b.plural ? -1 : 1));
  for (const rt of sorted) {
    for (const item of pathItems(rt)) {
      const entry: JsonObject = {};
      for (const op of item.ops) entry[op.method] = target === 'v2' ? v2Operation(rt, op) : v3Operation(rt, op);
      entry.parameters = item.params.map(target === 'v2' ? v2Param : v3Param);
      out[item.path] = entry;
    }
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

// ---------------------------------------------------------------- documents

const SECURITY = { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } };

/** The Swagger 2.0 document served at /openapi/v2 (JSON). */
export function openAPIV2(reg: Registry): JsonObject {
  const defs = convertedDefinitions(reg, 'v2');
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: `v${KUBERNETES_VERSION}` },
    paths: paths(reg.kinds, 'v2'),
    definitions: Object.fromEntries(Object.keys(defs).sort().map((k) => [k, defs[k]])),
    securityDefinitions: SECURITY,
    security: [{ BearerToken: [] }],
  };
}

/** The /openapi/v3 key of a group version: 'api/v1' or 'apis/GROUP/VERSION'. */
export function openAPIV3Path(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** The OpenAPI 3.0 document of one group version (/openapi/v3/api/v1, /openapi/v3/apis/G/V), or undefined. */
export function openAPIV3(reg: Registry, group: string, version: string): JsonObject | undefined {
  const gv = reg.groupVersions().find((x) => x.group === group && x.version === version);
  if (!gv) return undefined;
  const all = convertedDefinitions(reg, 'v3');
  const p = paths(gv.kinds, 'v3');
  const names = reachable(all, [...gv.kinds.flatMap((rt) => [rt.definition, listDefinitionName(rt)]), STATUS, DELETE_OPTIONS, PATCH], 'v3');
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths: p,
    components: { schemas: Object.fromEntries(names.map((n) => [n, all[n]])), securitySchemes: SECURITY },
  };
}

/** Stable content hash (SHA-512, upper-case hex, as the apiserver's) for ETag and ?hash=. */
export function contentHash(body: string): string {
  return createHash('sha512').update(body).digest('hex').toUpperCase();
}

export interface ServedDocument {
  doc: JsonObject;
  /** The exact bytes to send; the hash is over these. */
  json: string;
  hash: string;
}

function served(doc: JsonObject): ServedDocument {
  const json = JSON.stringify(doc);
  return { doc, json, hash: contentHash(json) };
}

export interface OpenAPIBundle {
  v2: ServedDocument;
  /** The same v2 document as gnostic protobuf; its ETag is v2.hash, as upstream. */
  v2Protobuf: Buffer;
  /** Keyed by 'api/v1', 'apis/apps/v1', ... */
  v3: Map<string, ServedDocument>;
  /** The /openapi/v3 discovery index: { paths: { KEY: { serverRelativeURL: '/openapi/v3/KEY?hash=HASH' } } }. */
  v3Index: ServedDocument;
}

/**
 * Everything /openapi serves, built once (the Registry is static). Serve each
 * json with ETag "hash". For /openapi/v3/KEY?hash=H: if H matches, add
 * Cache-Control "public, immutable" and a far Expires; if H is stale,
 * redirect (301) to the current serverRelativeURL, as the apiserver does.
 */
export function buildOpenAPI(reg: Registry): OpenAPIBundle {
  const { v3, v3Index } = v3Documents(reg);
  const v2 = served(openAPIV2(reg));
  return { v2, v2Protobuf: encodeOpenAPIV2Protobuf(v2.doc), v3, v3Index };
}

function v3Documents(reg: Registry): Pick<OpenAPIBundle, 'v3' | 'v3Index'> {
  const v3 = new Map<string, ServedDocument>();
  for (const gv of reg.groupVersions()) {
    const doc = openAPIV3(reg, gv.group, gv.version);
    if (doc) v3.set(openAPIV3Path(gv.group, gv.version), served(doc));
  }
  const index: Record<string, { serverRelativeURL: string }> = {};
  for (const [key, d] of [...v3.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) index[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` };
  return { v3, v3Index: served({ paths: index }) };
}

/** The /openapi/v3 index alone. */
export function openAPIV3Index(reg: Registry): JsonObject {
  return v3Documents(reg).v3Index.doc;
}

// ---------------------------------------------------------------- /openapi/v2 negotiation and protobuf

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const OPENAPI_V2_PROTOBUF_OLD = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * Which encoding of /openapi/v2 to send: client-go asks for protobuf with the
 * old '@v1.0' name; the answer's Content-Type is always OPENAPI_V2_PROTOBUF
 * for protobuf and application/json for JSON. undefined: answer 406.
 */
export function negotiateOpenAPIV2(accept: string | undefined): 'json' | 'protobuf' | undefined {
  for (const c of parseAccept(accept || '*/*')) {
    if (clauseAccepts(c, 'application/json')) return 'json';
    if (clauseAccepts(c, OPENAPI_V2_PROTOBUF) || clauseAccepts(c, OPENAPI_V2_PROTOBUF_OLD)) return 'protobuf';
  }
  return undefined;
}

/** Just enough of the protobuf wire format to write gnostic's messages. */
class ProtoWriter {
  private chunks: Buffer[] = [];

  private varint(n: bigint): void {
    const bytes: number[] = [];
    let v = BigInt.asUintN(64, n);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v) b |= 0x80;
      bytes.push(b);
    } while (v);
    this.chunks.push(Buffer.from(bytes));
  }
  private key(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }
  bytes(field: number, b: Buffer): void {
    this.key(field, 2);
    this.varint(BigInt(b.length));
    this.chunks.push(b);
  }
  string(field: number, s: unknown): void {
    if (typeof s === 'string' && s !== '') this.bytes(field, Buffer.from(s, 'utf8'));
  }
  strings(field: number, list: unknown): void {
    if (Array.isArray(list)) for (const s of list) if (typeof s === 'string') this.bytes(field, Buffer.from(s, 'utf8'));
  }
  /** Written even when false if `always` (a oneof member has presence). */
  bool(field: number, b: unknown, always = false): void {
    if (typeof b !== 'boolean' || (!b && !always)) return;
    this.key(field, 0);
    this.varint(b ? 1n : 0n);
  }
  int64(field: number, n: unknown): void {
    if (typeof n !== 'number' || !Number.isInteger(n)) return;
    this.key(field, 0);
    this.varint(BigInt(n));
  }
  double(field: number, n: unknown): void {
    if (typeof n !== 'number') return;
    this.key(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.chunks.push(b);
  }
  message(field: number, fill: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    fill(w);
    this.bytes(field, w.finish());
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

// gnostic keeps free-form values (defaults, enums, extensions) as YAML text; JSON is valid YAML.
function writeAny(w: ProtoWriter, field: number, v: unknown): void {
  if (v !== undefined) w.message(field, (a) => a.string(2, JSON.stringify(v)));
}

function writeExtensions(w: ProtoWriter, field: number, o: JsonObject): void {
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('x-')) w.message(field, (n) => (n.string(1, k), writeAny(n, 2, v)));
  }
}

function writeSchema(w: ProtoWriter, s: JsonObject): void {
  w.string(1, s.$ref);
  w.string(2, s.format);
  w.string(3, s.title);
  w.string(4, s.description);
  writeAny(w, 5, s.default);
  w.double(6, s.multipleOf);
  w.double(7, s.maximum);
  w.bool(8, s.exclusiveMaximum);
  w.double(9, s.minimum);
  w.bool(10, s.exclusiveMinimum);
  w.int64(11, s.maxLength);
  w.int64(12, s.minLength);
  w.string(13, s.pattern);
  w.int64(14, s.maxItems);
  w.int64(15, s.minItems);
  w.bool(16, s.uniqueItems);
  w.int64(17, s.maxProperties);
  w.int64(18, s.minProperties);
  w.strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) writeAny(w, 20, e);
  const ap = s.additionalProperties;
  if (typeof ap === 'boolean') w.message(21, (a) => a.bool(2, ap, true));
  else if (isObject(ap)) w.message(21, (a) => a.message(1, (x) => writeSchema(x, ap)));
  if (s.type !== undefined) w.message(22, (t) => t.strings(1, Array.isArray(s.type) ? s.type : [s.type]));
  const items = s.items;
  if (isObject(items)) w.message(23, (i) => i.message(1, (x) => writeSchema(x, items)));
  if (Array.isArray(s.allOf)) for (const a of s.allOf) if (isObject(a)) w.message(24, (x) => writeSchema(x, a));
  const props = s.properties;
  // Present-but-empty properties still mark an object kind for kubectl's model parser.
  if (isObject(props)) {
    w.message(25, (p) => {
      for (const [name, ps] of Object.entries(props)) if (isObject(ps)) p.message(1, (n) => (n.string(1, name), n.message(2, (x) => writeSchema(x, ps))));
    });
  }
  w.bool(27, s.readOnly);
  writeAny(w, 30, s.example);
  writeExtensions(w, 31, s);
}

function writeParameter(w: ProtoWriter, p: JsonObject): void {
  if (typeof p.$ref === 'string') {
    w.message(2, (r) => r.string(1, p.$ref));
    return;
  }
  w.message(1, (param) => {
    if (p.in === 'body') {
      param.message(1, (b) => {
        b.string(1, p.description);
        b.string(2, p.name);
        b.string(3, p.in);
        b.bool(4, p.required);
        if (isObject(p.schema)) b.message(5, (x) => writeSchema(x, p.schema as JsonObject));
        writeExtensions(b, 6, p);
      });
      return;
    }
    // Query sub-schemas have allowEmptyValue at 5 and everything after shifted by one.
    const query = p.in === 'query' || p.in === 'formData';
    const sub = p.in === 'query' ? 3 : p.in === 'formData' ? 2 : p.in === 'header' ? 1 : 4;
    const o = query ? 1 : 0;
    param.message(2, (nb) =>
      nb.message(sub, (x) => {
        x.bool(1, p.required);
        x.string(2, p.in);
        x.string(3, p.description);
        x.string(4, p.name);
        if (query) x.bool(5, p.allowEmptyValue);
        x.string(5 + o, p.type);
        x.string(6 + o, p.format);
        writeAny(x, 9 + o, p.default);
        x.bool(19 + o, p.uniqueItems);
        if (Array.isArray(p.enum)) for (const e of p.enum) writeAny(x, 20 + o, e);
        writeExtensions(x, 22 + o, p);
      }),
    );
  });
}

function writeOperation(w: ProtoWriter, op: JsonObject): void {
  w.strings(1, op.tags);
  w.string(2, op.summary);
  w.string(3, op.description);
  w.string(5, op.operationId);
  w.strings(6, op.produces);
  w.strings(7, op.consumes);
  if (Array.isArray(op.parameters)) for (const p of op.parameters) if (isObject(p)) w.message(8, (x) => writeParameter(x, p));
  const responses = op.responses;
  if (isObject(responses)) {
    w.message(9, (rs) => {
      for (const [code, r] of Object.entries(responses)) {
        if (!isObject(r)) continue;
        rs.message(1, (n) => {
          n.string(1, code);
          n.message(2, (rv) =>
            rv.message(1, (resp) => {
              resp.string(1, r.description);
              if (isObject(r.schema)) resp.message(2, (si) => si.message(1, (x) => writeSchema(x, r.schema as JsonObject)));
            }),
          );
        });
      }
    });
  }
  w.strings(10, op.schemes);
  w.bool(11, op.deprecated);
  writeExtensions(w, 13, op);
}

const PATH_METHODS: Array<[string, number]> = [['get', 2], ['put', 3], ['post', 4], ['delete', 5], ['options', 6], ['head', 7], ['patch', 8]];

/**
 * Encode a Swagger 2.0 document (as openAPIV2 builds it) as gnostic's
 * openapi_v2.Document protobuf, what the apiserver sends for
 * Accept: application/com.github.proto-openapi.spec.v2[@.]v1.0+protobuf.
 */
export function encodeOpenAPIV2Protobuf(doc: JsonObject): Buffer {
  const w = new ProtoWriter();
  w.string(1, doc.swagger);
  const info = doc.info;
  if (isObject(info)) w.message(2, (i) => (i.string(1, info.title), i.string(2, info.version), i.string(3, info.description)));
  const p = doc.paths;
  if (isObject(p)) {
    w.message(8, (ps) => {
      for (const [path, item] of Object.entries(p)) {
        if (!isObject(item)) continue;
        ps.message(2, (n) => {
          n.string(1, path);
          n.message(2, (pi) => {
            for (const [m, f] of PATH_METHODS) if (isObject(item[m])) pi.message(f, (x) => writeOperation(x, item[m] as JsonObject));
            if (Array.isArray(item.parameters)) for (const prm of item.parameters) if (isObject(prm)) pi.message(9, (x) => writeParameter(x, prm));
            writeExtensions(pi, 10, item);
          });
        });
      }
    });
  }
  const defs = doc.definitions;
  if (isObject(defs)) {
    w.message(9, (d) => {
      for (const [name, s] of Object.entries(defs)) if (isObject(s)) d.message(1, (n) => (n.string(1, name), n.message(2, (x) => writeSchema(x, s))));
    });
  }
  if (Array.isArray(doc.security)) {
    for (const req of doc.security) {
      if (!isObject(req)) continue;
      w.message(12, (r) => {
        for (const [name, scopes] of Object.entries(req)) r.message(1, (n) => (n.string(1, name), n.message(2, (a) => a.strings(1, scopes))));
      });
    }
  }
  const sec = doc.securityDefinitions;
  if (isObject(sec)) {
    w.message(13, (sd) => {
      for (const [name, d] of Object.entries(sec)) {
        if (!isObject(d) || d.type !== 'apiKey') continue;
        sd.message(1, (n) => {
          n.string(1, name);
          n.message(2, (item) => item.message(2, (k) => (k.string(1, d.type), k.string(2, d.name), k.string(3, d.in), k.string(4, d.description))));
        });
      }
    });
  }
  return w.finish();
}
