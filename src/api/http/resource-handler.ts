// HTTP verbs on resources: maps method + path + query onto ResourceService.
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { apiVersionOf } from '../../apis/types.js';
import type { FieldValidation } from '../admission/schema-validator.js';
import { encodedWithRevision } from '../codec.js';
import type { PatchType } from '../resources/patching.js';
import { isProtected, type DeleteOptions, type ResourceService, type Stored, type WriteContext } from '../resources/resource-service.js';
import { parseRevision, watchResources } from '../resources/watch.js';
import type { NodeLogs } from '../../agent/logs/node-logs.js';
import { ApiError, badRequest, methodNotAllowed, notFound } from '../status.js';
import { PROTOBUF_MEDIA_TYPE, ProtobufError, decodeKubernetesProtobuf } from '../protobuf/index.js';
import { handleAttachWithoutUpgrade, handleExecWithoutUpgrade, hasAttach, hasExec } from './exec-handler.js';
import { handleLog } from './log-handler.js';
import { handleScale } from './scale-handler.js';
import { handleBinding } from './binding-handler.js';
import { handleEviction } from './eviction-handler.js';
import { hasBinding } from '../binding/binding.js';
import { compileSelectors } from './selection.js';
import { tableRequest, tableFor } from './tables.js';
import { decodeBody, mediaType, readBody, type ApiRequest } from './body.js';
import { sendJson, sendRaw, warningHeaders, wantsYaml, type ApiResponse } from './respond.js';
import type { ResourceRoute } from './route.js';

const PATCH_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};
const BODY_TYPES = ['application/json', 'application/yaml', '*/*'];
/** Typed clients (kubectl ≥ 1.32 `create ...`) send built-in kinds as protobuf. */
const OBJECT_BODY_TYPES = [...BODY_TYPES, PROTOBUF_MEDIA_TYPE];

/** A full object body (POST, PUT): JSON, YAML or Kubernetes protobuf. */
async function objectBody(req: ApiRequest, svc: ResourceService): Promise<unknown> {
  const buf = await readBody(req);
  const type = mediaType(req);
  if (type !== PROTOBUF_MEDIA_TYPE) return decodeBody(buf, type, OBJECT_BODY_TYPES);
  try {
    return decodeKubernetesProtobuf(buf, svc.registry);
  } catch (e) {
    if (e instanceof ProtobufError) throw badRequest(`the protobuf body could not be decoded: ${e.message}`);
    throw e;
  }
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`);
  return Number(v);
}

function fieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Strict';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be one of Strict, Warn or Ignore, not ${JSON.stringify(v)}`);
}

function writeContext(req: ApiRequest, q: URLSearchParams, defaultManager: string): WriteContext {
  const dryRun = q.getAll('dryRun');
  for (const d of dryRun) if (d !== 'All') throw badRequest(`dryRun must be "All", not ${JSON.stringify(d)}`);
  const manager = q.get('fieldManager') || managerFromUserAgent(String(req.headers['user-agent'] ?? '')) || defaultManager;
  if (manager.length > 128) throw badRequest('fieldManager must be at most 128 characters');
  return { manager, fieldValidation: fieldValidation(q), dryRun: dryRun.length > 0, warnings: [] };
}

/** "kubectl/v1.32.4 (linux/amd64) ..." → "kubectl", as the apiserver derives a default manager. */
function managerFromUserAgent(ua: string): string {
  return ua.split('/')[0].trim().slice(0, 128);
}

function listKind(rt: ResourceType): string {
  return `${rt.kind}List`;
}

export async function handleResource(req: ApiRequest, res: ApiResponse, route: ResourceRoute, q: URLSearchParams, svc: ResourceService, nodeLogs?: NodeLogs): Promise<void> {
  const { rt, namespace: ns, name, subresource } = route;
  const method = req.method ?? 'GET';
  const yaml = wantsYaml(String(req.headers.accept ?? ''));
  if (rt.namespaced && !ns && name) throw notFound(rt, name);
  if (subresource === 'log' && rt.kind === 'Pod' && rt.group === '' && name) return handleLog(req, res, rt, ns, name, q, svc, nodeLogs);
  if (subresource === 'exec' && hasExec(rt) && name) return handleExecWithoutUpgrade(req, rt, ns, name, q, svc);
  if (subresource === 'attach' && hasAttach(rt) && name) return handleAttachWithoutUpgrade(req, rt, ns, name, q, svc);
  if (subresource === 'eviction' && rt.kind === 'Pod' && rt.group === '' && name) return handleEviction(req, res, rt, ns, name, svc);
  if (subresource === 'binding' && hasBinding(rt) && name) return handleBinding(req, res, rt, ns, name, writeContext(req, q, 'unknown'), svc);
  if (subresource === 'scale' && rt.scale && name) return handleScale(req, res, rt, ns, name, writeContext(req, q, 'unknown'), svc);
  if (subresource && !(subresource === 'status' && rt.statusSubresource) && !(subresource === 'finalize' && rt.kind === 'Namespace'))
    throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${rt.plural}/${subresource})`);

  if (!name) {
    switch (method) {
      case 'GET':
        if (route.legacyWatch || flag(q, 'watch')) return watch(req, res, route, q, svc);
        return list(req, res, route, q, svc);
      case 'POST': {
        if (rt.namespaced && !ns) throw methodNotAllowed(`create of ${rt.plural} needs a namespace in the path`);
        const ctx = writeContext(req, q, 'unknown');
        const body = await objectBody(req, svc);
        const stored = await svc.create(rt, ns, body, ctx);
        return sendStored(res, 201, stored, yaml, warningHeaders(ctx.warnings));
      }
      case 'DELETE':
        return deleteCollection(req, res, route, q, svc);
      default:
        throw methodNotAllowed(`the server does not allow ${method} on ${rt.plural}`);
    }
  }

  switch (method) {
    case 'GET': {
      if (route.legacyWatch) return watch(req, res, route, q, svc);
      const got = await svc.get(rt, ns, name);
      const table = tableRequest(req, q);
      if (table) return sendJson(res, 200, tableFor(rt, [got.obj], table, { resourceVersion: got.obj.metadata.resourceVersion }, table.as !== 'Table'), { yaml });
      return sendJson(res, 200, got.obj, { yaml });
    }
    case 'PUT': {
      const ctx = writeContext(req, q, 'unknown');
      const body = await objectBody(req, svc);
      const sub = subresource as 'status' | 'finalize' | undefined;
      const { stored, created } = await svc.update(rt, ns, name, body, ctx, sub);
      return sendStored(res, created ? 201 : 200, stored, yaml, warningHeaders(ctx.warnings));
    }
    case 'PATCH': {
      const type = PATCH_TYPES[mediaType(req)];
      if (!type) throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`);
      if (type === 'strategic' && !rt.strategicMergePatch)
        throw new ApiError(415, 'UnsupportedMediaType', `strategic merge patch is not supported for ${rt.kind}.${rt.group}: use a JSON merge patch (--type merge) or a JSON patch (--type json)`);
      const ctx = writeContext(req, q, 'unknown');
      if (type === 'apply' && !q.get('fieldManager')) throw badRequest('PATCH with application/apply-patch+yaml requires the fieldManager parameter');
      if (subresource === 'finalize') throw methodNotAllowed('finalize takes PUT only');
      const buf = await readBody(req);
      let patch: unknown;
      if (type === 'apply') patch = decodeBody(buf, 'application/yaml', ['application/yaml']);
      else patch = decodeBody(buf, 'application/json', ['application/json']);
      const force = flag(q, 'force');
      if (force && type !== 'apply') throw badRequest('force may only be set for apply patches');
      const { stored, created } = await svc.patch(rt, ns, name, type, patch, { ...ctx, force }, subresource as 'status' | undefined);
      return sendStored(res, created ? 201 : 200, stored, yaml, warningHeaders(ctx.warnings));
    }
    case 'DELETE': {
      if (subresource) throw methodNotAllowed(`the server does not allow DELETE on ${rt.plural}/${subresource}`);
      const opts = await deleteOptions(req, q);
      const { obj, deleted } = await svc.delete(rt, ns, name, opts);
      return sendJson(res, deleted ? 200 : 202, obj, { yaml });
    }
    default:
      throw methodNotAllowed(`the server does not allow ${method} on ${rt.plural}/${name}`);
  }
}

/** Answer with a written object, reusing its stored text when there is one. */
function sendStored(res: ApiResponse, code: number, stored: Stored, yaml: boolean, headers: Record<string, string>): void {
  if (stored.raw && !yaml) return sendRaw(res, code, encodedWithRevision(stored.raw, stored.revision), headers);
  sendJson(res, code, stored.obj, { yaml, headers });
}

async function deleteOptions(req: ApiRequest, q: URLSearchParams): Promise<DeleteOptions> {
  const buf = await readBody(req);
  let body: Record<string, unknown> = {};
  if (buf.length && buf.toString().trim()) {
    const decoded = decodeBody(buf, mediaType(req), BODY_TYPES);
    if (!decoded || typeof decoded !== 'object') throw badRequest('DeleteOptions must be an object');
    body = decoded as Record<string, unknown>;
  }
  // The body is decoded by hand: check its types as the apiserver's decoder would.
  const wrongType = (field: string, want: string): ApiError =>
    badRequest(`DeleteOptions in version "v1" cannot be handled as a DeleteOptions: ${field}: must be ${want}`, [{ reason: 'FieldValueTypeInvalid', field, message: `must be ${want}` }]);
  if (body.propagationPolicy != null && typeof body.propagationPolicy !== 'string') throw wrongType('propagationPolicy', 'a string');
  if (body.orphanDependents != null && typeof body.orphanDependents !== 'boolean') throw wrongType('orphanDependents', 'a boolean');
  if (body.dryRun != null && !(Array.isArray(body.dryRun) && body.dryRun.every((d) => typeof d === 'string'))) throw wrongType('dryRun', 'an array of strings');
  for (const d of (body.dryRun as string[] | null | undefined) ?? []) if (d !== 'All') throw badRequest(`dryRun must be "All", not ${JSON.stringify(d)}`);
  if (body.preconditions != null) {
    const pre = body.preconditions as Record<string, unknown>;
    if (typeof pre !== 'object' || Array.isArray(pre)) throw wrongType('preconditions', 'an object');
    for (const k of ['uid', 'resourceVersion']) if (pre[k] != null && typeof pre[k] !== 'string') throw wrongType(`preconditions.${k}`, 'a string');
  }
  let policy = (body.propagationPolicy as string | undefined) ?? q.get('propagationPolicy') ?? undefined;
  const orphan = body.orphanDependents ?? (q.has('orphanDependents') ? flag(q, 'orphanDependents') : undefined);
  if (policy === undefined && orphan !== undefined) policy = orphan ? 'Orphan' : 'Background';
  if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy))
    throw badRequest(`propagationPolicy must be Foreground, Background or Orphan, not ${JSON.stringify(policy)}`);
  const grace = (body.gracePeriodSeconds as number | undefined) ?? intParam(q, 'gracePeriodSeconds');
  for (const d of q.getAll('dryRun')) if (d !== 'All') throw badRequest(`dryRun must be "All", not ${JSON.stringify(d)}`);
  if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) throw badRequest('gracePeriodSeconds must be a non-negative integer');
  const dryRun = [...q.getAll('dryRun'), ...((body.dryRun as string[] | null | undefined) ?? [])];
  return {
    propagationPolicy: policy as DeleteOptions['propagationPolicy'],
    gracePeriodSeconds: grace,
    preconditions: (body.preconditions ?? undefined) as DeleteOptions['preconditions'],
    dryRun: dryRun.includes('All'),
  };
}

async function list(req: ApiRequest, res: ApiResponse, route: ResourceRoute, q: URLSearchParams, svc: ResourceService): Promise<void> {
  const { rt, namespace: ns } = route;
  const match = compileSelectors(rt, q);
  const limit = intParam(q, 'limit');
  if (limit !== undefined && limit < 0) throw badRequest('limit must not be negative');
  const rvMatch = q.get('resourceVersionMatch');
  const rv = parseRevision(q.get('resourceVersion') ?? undefined);
  if (rvMatch && !['Exact', 'NotOlderThan'].includes(rvMatch)) throw badRequest(`resourceVersionMatch must be Exact or NotOlderThan, not ${JSON.stringify(rvMatch)}`);
  if (rvMatch && rv === undefined) throw badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  const cont = q.get('continue') || undefined;
  if (cont && rv) throw badRequest('specifying resource version is not allowed when using continue');
  // Exact or not-older-than: either way the store must have reached it.
  if (rv) await svc.checkRevisionReached(rv);
  const table = tableRequest(req, q);
  const page = await svc.list(rt, ns, {
    limit: limit || undefined,
    continue: cont,
    revision: rvMatch === 'Exact' ? rv : undefined,
    match: match ?? (table ? () => true : undefined),
  });
  const meta: Record<string, unknown> = { resourceVersion: String(page.revision) };
  if (page.continue) meta.continue = page.continue;
  if (page.remaining !== undefined && page.continue) meta.remainingItemCount = page.remaining;
  if (table) {
    const objs = page.items.map((it) => it.obj as KubeObject);
    return sendJson(res, 200, tableFor(rt, objs, table, meta), { yaml: wantsYaml(String(req.headers.accept ?? '')) });
  }
  if (wantsYaml(String(req.headers.accept ?? ''))) {
    const items = page.items.map((it) => JSON.parse(encodedWithRevision(it.value, it.revision)));
    return sendJson(res, 200, { kind: listKind(rt), apiVersion: apiVersionOf(rt), metadata: meta, items }, { yaml: true });
  }
  // Assemble the list from the stored text: no parse or re-serialize per item.
  const head = `{"kind":${JSON.stringify(listKind(rt))},"apiVersion":${JSON.stringify(apiVersionOf(rt))},"metadata":${JSON.stringify(meta)},"items":[`;
  if (page.items.length <= LIST_CHUNK) {
    const items = page.items.map((it) => encodedWithRevision(it.value, it.revision));
    return sendRaw(res, 200, `${head}${items.join(',')}]}`);
  }
  // Large lists stream in chunks: the first bytes leave at once and no
  // single response-sized string (tens of MiB) is built and copied.
  res.writeHead(200, { 'content-type': 'application/json' });
  await writeText(res, head);
  for (let i = 0; i < page.items.length; i += LIST_CHUNK) {
    const chunk = page.items.slice(i, i + LIST_CHUNK).map((it) => encodedWithRevision(it.value, it.revision));
    await writeText(res, (i ? ',' : '') + chunk.join(','));
  }
  res.end(']}');
}

/**
 * How much a watch may have buffered for its client before it waits for the
 * socket: well above a stream's 16 KiB high-water mark, so the events of a
 * busy turn (hundreds, when thousands of Pods change) leave together rather
 * than six per turn of the event loop; still a bound for a client that stops
 * reading.
 */
const WATCH_BUFFER_BYTES = 4 * 1024 * 1024;

async function writeWatchEvent(w: import('node:stream').Writable, text: string): Promise<void> {
  w.write(text);
  if (w.writableLength > WATCH_BUFFER_BYTES && !w.destroyed)
    await new Promise<void>((resolve) => {
      w.once('drain', () => resolve());
      w.once('close', () => resolve());
    });
}

/** Items per write when a list is streamed. */
const LIST_CHUNK = 500;

/** Write to a response, waiting for the socket to drain when its buffer is full; a client that went away never drains, so stop waiting on close too. */
async function writeText(res: ApiResponse, text: string): Promise<void> {
  const w = res as unknown as import('node:stream').Writable;
  if (!w.write(text) && !w.destroyed)
    await new Promise<void>((resolve) => {
      w.once('drain', () => resolve());
      w.once('close', () => resolve());
    });
}

async function deleteCollection(req: ApiRequest, res: ApiResponse, route: ResourceRoute, q: URLSearchParams, svc: ResourceService): Promise<void> {
  const { rt, namespace: ns } = route;
  const match = compileSelectors(rt, q);
  const opts = await deleteOptions(req, q);
  const page = await svc.list(rt, ns, { match: match ?? (() => true) });
  const items: KubeObject[] = [];
  for (const it of page.items) {
    const obj = it.obj as KubeObject;
    if (isProtected(rt, obj.metadata.name as string)) continue;
    try {
      const r = await svc.delete(rt, obj.metadata.namespace, obj.metadata.name as string, opts);
      items.push(r.obj);
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
  sendJson(res, 200, { kind: listKind(rt), apiVersion: apiVersionOf(rt), metadata: { resourceVersion: String(page.revision) }, items });
}

async function watch(req: ApiRequest, res: ApiResponse, route: ResourceRoute, q: URLSearchParams, svc: ResourceService): Promise<void> {
  const { rt, namespace: ns, name } = route;
  let match = compileSelectors(rt, q, name);
  const table = tableRequest(req, q);
  const timeout = intParam(q, 'timeoutSeconds');
  // Validate before answering 200: a watch that started cannot report 400 any more.
  const from = parseRevision(q.get('resourceVersion') ?? undefined);
  if (from) await svc.checkRevisionReached(from);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  req.on('close', stop);
  res.on('close', stop);
  let timer: NodeJS.Timeout | undefined;
  if (timeout && timeout > 0) timer = setTimeout(stop, timeout * 1000);
  if (table && !match) match = () => true;
  const events = watchResources(svc, rt, ns, {
    resourceVersion: q.get('resourceVersion') ?? undefined,
    match,
    sendInitialEvents: q.has('sendInitialEvents') ? flag(q, 'sendInitialEvents') : undefined,
    bookmarks: flag(q, 'allowWatchBookmarks'),
    signal: abort.signal,
  });
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  // Send headers now so clients know the watch is established before any event.
  (res as { flushHeaders?: () => void }).flushHeaders?.();
  // Events that arrive together (one commit batch) leave together: one TLS record and one syscall, not one per event.
  const stream = res as unknown as import('node:stream').Writable;
  let corked = false;
  const batch = (): void => {
    if (corked || stream.destroyed || typeof stream.cork !== 'function') return;
    corked = true;
    stream.cork();
    setImmediate(() => {
      corked = false;
      stream.uncork();
    });
  };
  try {
    for await (const ev of events) {
      if (abort.signal.aborted) break;
      let line: string;
      if (ev.type === 'ERROR') line = JSON.stringify({ type: 'ERROR', object: ev.status });
      else if (ev.type === 'BOOKMARK') {
        const metadata: Record<string, unknown> = { resourceVersion: String(ev.revision) };
        if (ev.initialEventsEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
        line = JSON.stringify({ type: 'BOOKMARK', object: { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata } });
      } else if (table) {
        const obj = ev.obj ?? (JSON.parse(encodedWithRevision(ev.value as string, ev.revision)) as KubeObject);
        obj.metadata.resourceVersion = String(ev.revision);
        line = JSON.stringify({ type: ev.type, object: tableFor(rt, [obj], table, { resourceVersion: String(ev.revision) }, table.as === 'PartialObjectMetadata') });
      } else {
        line = `{"type":"${ev.type}","object":${encodedWithRevision(ev.value as string, ev.revision)}}`;
      }
      batch();
      await writeWatchEvent(stream, `${line}\n`);
    }
  } catch (e) {
    const status = (e as { toStatus?: () => unknown }).toStatus?.() ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 500, reason: 'InternalError', message: String((e as Error).message) };
    await writeText(res, `${JSON.stringify({ type: 'ERROR', object: status })}\n`);
  } finally {
    if (timer) clearTimeout(timer);
    abort.abort();
    res.end();
  }
}
