// A deliberately small stand-in for the Lodge API server, enough to test the
// client and the CLI end to end (TLS, auth, discovery, CRUD, apply, Table,
// watch) before the real server exists. It speaks the Kubernetes wire format
// but implements none of the semantics beyond what the tests need.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../src/apis/types.js';
import type { Pki } from '../../src/pki/index.js';

interface Kind {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories?: string[];
  /** Deleting leaves the object terminating for a while, like a Pod with a grace period. */
  graceful?: boolean;
}

export const kinds: Kind[] = [
  { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], graceful: true },
  { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'] },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'] },
  { group: 'lodge.dev', version: 'v1alpha1', plural: 'instances', kind: 'Instance', namespaced: true, shortNames: [] },
];

interface WatchEventRecord {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: Kind;
  object: KubeObject;
}

const apiVersion = (k: Kind): string => (k.group ? `${k.group}/${k.version}` : k.version);
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, code }));
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function matchesSelectors(obj: KubeObject, labelSelector: string | null, fieldSelector: string | null): boolean {
  for (const term of (labelSelector ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    if (obj.metadata.labels?.[k] !== v) return false;
  }
  for (const term of (fieldSelector ?? '').split(',').filter(Boolean)) {
    const [k, v] = term.split('=');
    const actual = k === 'metadata.name' ? obj.metadata.name : k === 'involvedObject.uid' ? (obj.involvedObject as { uid?: string } | undefined)?.uid : undefined;
    if (actual !== v) return false;
  }
  return true;
}

export class FakeApiServer {
  readonly objects = new Map<string, KubeObject>();
  readonly log: WatchEventRecord[] = [];
  readonly requests: string[] = [];
  private rv = 1;
  private readonly listeners = new Set<(e: WatchEventRecord) => void>();
  private server?: Server;
  url = '';

  constructor(private readonly pki: Pki) {}

  async start(): Promise<void> {
    this.server = createServer({ cert: this.pki.serverCertPem, key: this.pki.serverKeyPem, ca: this.pki.caPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      this.handle(req, res).catch((err: Error) => status(res, 500, 'InternalError', err.message));
    });
    await new Promise<void>((res) => this.server!.listen(0, '127.0.0.1', res));
    this.url = `https://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((res) => this.server?.close(() => res()));
  }

  /** Store an object directly (as a controller would), emitting a watch event. */
  put(kindName: string, obj: KubeObject): KubeObject {
    const k = kinds.find((x) => x.kind === kindName)!;
    const key = this.key(k, obj.metadata.namespace, obj.metadata.name!);
    const existed = this.objects.has(key);
    const stored = clone(obj);
    stored.apiVersion = apiVersion(k);
    stored.kind = k.kind;
    stored.metadata.uid ??= randomUUID();
    stored.metadata.creationTimestamp ??= new Date().toISOString();
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, stored);
    this.emit({ rv: this.rv, type: existed ? 'MODIFIED' : 'ADDED', kind: k, object: stored });
    return stored;
  }

  private key(k: Kind, ns: string | undefined, name: string): string {
    return `${k.group}/${k.plural}/${k.namespaced ? ns : ''}/${name}`;
  }

  private emit(e: WatchEventRecord): void {
    this.log.push(e);
    for (const l of this.listeners) l(e);
  }

  private remove(k: Kind, obj: KubeObject): void {
    this.objects.delete(this.key(k, obj.metadata.namespace, obj.metadata.name!));
    const gone = clone(obj);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', kind: k, object: gone });
  }

  private authenticated(req: IncomingMessage): boolean {
    if (req.headers.authorization === `Bearer ${this.pki.token}`) return true;
    return (req.socket as TLSSocket).authorized === true;
  }

  private table(k: Kind, objs: KubeObject[]): unknown {
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: String(this.rv) },
      columnDefinitions: [
        { name: 'Name', type: 'string', format: 'name', description: '', priority: 0 },
        { name: 'Status', type: 'string', format: '', description: '', priority: 0 },
        { name: 'Node', type: 'string', format: '', description: '', priority: 1 },
        { name: 'Age', type: 'string', format: '', description: '', priority: 0 },
      ],
      rows: objs.map((o) => ({
        cells: [o.metadata.name, (o.status?.phase as string | undefined) ?? (o.metadata.deletionTimestamp ? 'Terminating' : 'Active'), o.spec?.nodeName ?? null, '1m'],
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
      })),
    };
  }

  private discovery(path: string, res: ServerResponse): boolean {
    if (path === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'] }), true;
    if (path === '/apis') {
      const groups = [...new Set(kinds.filter((k) => k.group).map((k) => k.group))].map((g) => {
        const v = kinds.find((k) => k.group === g)!.version;
        return { name: g, versions: [{ groupVersion: `${g}/${v}`, version: v }], preferredVersion: { groupVersion: `${g}/${v}`, version: v } };
      });
      return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups }), true;
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (!m) return false;
    const group = m[2] ?? '';
    const version = m[1] ?? m[3];
    const resources = kinds
      .filter((k) => k.group === group && k.version === version)
      .flatMap((k) => [
        { name: k.plural, singularName: k.kind.toLowerCase(), namespaced: k.namespaced, kind: k.kind, verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'], shortNames: k.shortNames, categories: k.categories },
        { name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: ['get'] },
      ]);
    if (!resources.length) return status(res, 404, 'NotFound', `the server could not find the requested resource`), true;
    json(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources });
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (!this.authenticated(req)) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (req.method === 'GET' && this.discovery(url.pathname, res)) return;

    const m = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/(.*)$/.exec(url.pathname);
    if (!m) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const group = m[1] ?? '';
    const segs = m[3].split('/').map(decodeURIComponent);
    let ns: string | undefined;
    if (segs[0] === 'namespaces' && segs.length >= 3) {
      ns = segs[1];
      segs.splice(0, 2);
    }
    const [plural, name] = segs;
    const k = kinds.find((x) => x.group === group && x.plural === plural);
    if (!k) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const qualified = k.group ? `${k.plural}.${k.group}` : k.plural;
    const wantsTable = (req.headers.accept ?? '').includes('as=Table');
    const params = url.searchParams;

    if (req.method === 'GET' && !name) {
      const items = [...this.objects.values()].filter(
        (o) => o.kind === k.kind && apiVersion(k) === o.apiVersion && (!ns || o.metadata.namespace === ns) && matchesSelectors(o, params.get('labelSelector'), params.get('fieldSelector')),
      );
      if (params.get('watch') === 'true') return this.watch(k, ns, params, wantsTable, res);
      if (wantsTable) return json(res, 200, this.table(k, items));
      return json(res, 200, { kind: `${k.kind}List`, apiVersion: apiVersion(k), metadata: { resourceVersion: String(this.rv) }, items: items.map((o) => ({ ...o, apiVersion: undefined, kind: undefined })) });
    }

    const existing = name ? this.objects.get(this.key(k, ns, name)) : undefined;
    const notFound = (): void => status(res, 404, 'NotFound', `${qualified} "${name}" not found`);

    if (req.method === 'GET') {
      if (!existing) return notFound();
      return json(res, 200, wantsTable ? this.table(k, [existing]) : existing);
    }
    if (req.method === 'POST') {
      const obj = JSON.parse(await readBody(req)) as KubeObject;
      obj.metadata.namespace = k.namespaced ? ns : undefined;
      if (this.objects.has(this.key(k, ns, obj.metadata.name!))) return status(res, 409, 'AlreadyExists', `${qualified} "${obj.metadata.name}" already exists`);
      return json(res, 201, this.put(k.kind, obj));
    }
    if (req.method === 'PATCH') {
      const type = req.headers['content-type'];
      const patch = JSON.parse(await readBody(req)) as KubeObject;
      if (type === 'application/apply-patch+yaml') {
        if (params.get('fieldManager') !== 'lodge') return status(res, 400, 'BadRequest', 'fieldManager is required');
        if (!existing) return json(res, 201, this.put(k.kind, { ...patch, metadata: { ...patch.metadata, namespace: k.namespaced ? ns : undefined } }));
        const { metadata: pm, ...rest } = patch;
        const merged = { ...existing, ...rest, metadata: { ...existing.metadata, labels: pm.labels ?? existing.metadata.labels } } as KubeObject;
        if (JSON.stringify(merged) === JSON.stringify(existing)) return json(res, 200, existing); // no-op apply keeps the version
        return json(res, 200, this.put(k.kind, merged));
      }
      if (!existing) return notFound();
      return json(res, 200, this.put(k.kind, { ...existing, ...patch, metadata: existing.metadata }));
    }
    if (req.method === 'DELETE') {
      if (!existing) return notFound();
      const body = JSON.parse((await readBody(req)) || '{}') as { propagationPolicy?: string };
      if (body.propagationPolicy && !['Background', 'Foreground', 'Orphan'].includes(body.propagationPolicy)) return status(res, 400, 'BadRequest', 'bad propagationPolicy');
      if (k.graceful) {
        const terminating = this.put(k.kind, { ...existing, metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString() } });
        setTimeout(() => this.remove(k, terminating), 300);
        return json(res, 200, terminating);
      }
      this.remove(k, existing);
      return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success', details: { name, kind: k.plural } });
    }
    status(res, 405, 'MethodNotAllowed', `${req.method} is not supported`);
  }

  private watch(k: Kind, ns: string | undefined, params: URLSearchParams, wantsTable: boolean, res: ServerResponse): void {
    const from = Number(params.get('resourceVersion') ?? '0');
    const relevant = (e: WatchEventRecord): boolean =>
      e.kind === k && (!ns || e.object.metadata.namespace === ns) && matchesSelectors(e.object, params.get('labelSelector'), params.get('fieldSelector'));
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    let queue = Promise.resolve();
    const send = (e: WatchEventRecord): void => {
      const object = wantsTable ? this.table(k, [e.object]) : e.object;
      const line = JSON.stringify({ type: e.type, object }) + '\n';
      // Split every event in two writes, apart in time, so clients must reassemble lines.
      const half = Math.floor(line.length / 2);
      queue = queue.then(async () => {
        if (res.writableEnded) return;
        res.write(line.slice(0, half));
        await new Promise((r) => setTimeout(r, 5));
        if (!res.writableEnded) res.write(line.slice(half));
      });
    };
    for (const e of this.log) if (e.rv > from && relevant(e)) send(e);
    const listener = (e: WatchEventRecord): void => {
      if (relevant(e)) send(e);
    };
    this.listeners.add(listener);
    const timeout = Number(params.get('timeoutSeconds') ?? '30') * 1000;
    const timer = setTimeout(() => void queue.then(() => res.end()), timeout);
    res.on('close', () => {
      clearTimeout(timer);
      this.listeners.delete(listener);
    });
  }
}
