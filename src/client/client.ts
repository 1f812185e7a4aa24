// A small client for the Kubernetes REST API: one undici Pool per server
// (keep-alive connections, TLS from the kubeconfig, bearer token), JSON in and
// out, Status bodies turned into ApiError, and watches as async iterables.
// The CLI, the node agent and the controllers all reach the API through it.
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { KubeObject } from '../apis/types.js';
import type { ClientConfig } from './config.js';
import { Discovery } from './discovery.js';
import { ApiError, isStatus, type Status } from './errors.js';
import { parseJsonLines } from './json-lines.js';
import { queryString, resourcePath, type QueryValue, type ResourceRef } from './paths.js';

export interface KubeList<T = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export type WatchEvent<T = KubeObject> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: T }
  | { type: 'ERROR'; object: Status };

export interface RequestOptions {
  method?: Dispatcher.HttpMethod;
  /** Absolute API path, e.g. /api/v1/namespaces. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Objects are sent as JSON; strings, bytes and Readable streams as they are. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
  /** Overrides the client's default timeout; 0 = none. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ReadOptions {
  namespace?: string;
  /** e.g. the Table media type; default application/json. */
  accept?: string;
  query?: Record<string, QueryValue>;
}

export interface ListOptions extends ReadOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WriteOptions {
  /** Defaults to the object's metadata.namespace. */
  namespace?: string;
  fieldManager?: string;
  dryRun?: boolean;
  /** Strict (default on Lodge), Warn or Ignore. */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  subresource?: string;
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

export type PatchType =
  | 'application/apply-patch+yaml'
  | 'application/merge-patch+json'
  | 'application/strategic-merge-patch+json'
  | 'application/json-patch+json';

export interface DeleteOptions {
  namespace?: string;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this version; absent = the current state as ADDED events first. */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Ask the server to end the watch after this long. */
  timeoutSeconds?: number;
  accept?: string;
  /** Extra query parameters, e.g. includeObject for Table watches. */
  query?: Record<string, QueryValue>;
  /** Abort to stop the watch (breaking out of the loop also does). */
  signal?: AbortSignal;
}

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

const JSON_TYPE = 'application/json';

/** Certificate failures worth a hint: usually a kubeconfig from another (or an older) control plane. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function describeNetworkError(err: unknown, server: string, method: string, path: string): Error {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e.code ?? e.cause?.code;
  if (code === 'ECONNREFUSED') return new Error(`the connection to the server ${server} was refused - is "lodge up" running and is the address right?`, { cause: err });
  if (e.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new Error(`${method} ${path}: the server ${server} did not answer in time`, { cause: err });
  }
  if (code && TLS_TRUST_CODES.has(code)) {
    return new Error(`${method} ${path} on ${server}: ${e.message} - does the kubeconfig's CA belong to this server, and does its certificate cover this host?`, { cause: err });
  }
  return new Error(`${method} ${path} on ${server}: ${e.message}`, { cause: err });
}

export class KubeClient {
  readonly config: ClientConfig;
  /** Resource names → ResourceRef, from the server's discovery documents (cached). */
  readonly discovery: Discovery;
  private readonly pool: Pool;
  /** Path prefix when the server URL has one (behind a proxy), '' otherwise. */
  private readonly basePath: string;

  constructor(config: ClientConfig) {
    this.config = config;
    let url: URL;
    try {
      url = new URL(config.server);
    } catch {
      throw new Error(`invalid server URL "${config.server}"${config.source ? ` in ${config.source}` : ''}`);
    }
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connect: {
        ca: config.caPem,
        cert: config.clientCertPem,
        key: config.clientKeyPem,
        rejectUnauthorized: !config.insecureSkipTlsVerify,
        servername: config.tlsServerName,
      },
      keepAliveTimeout: 30_000,
    });
    this.discovery = new Discovery(this);
  }

  /** Close idle connections; in-flight requests and watches finish first. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Send a request and return status, headers and text body, whatever the status. */
  async request(opts: RequestOptions): Promise<RawResponse> {
    const method = opts.method ?? 'GET';
    const res = await this.send(opts, method, false);
    try {
      // The timeout covers the body too: a server may stall mid-response.
      const body = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw describeNetworkError(err, this.config.server, method, opts.path);
    }
  }

  /**
   * Send a request and hand back its body as a stream (logs, follow): no body
   * timeout. A status >= 400 becomes ApiError (its body read first).
   */
  async requestStream(opts: RequestOptions): Promise<{ status: number; headers: RawResponse['headers']; body: AsyncIterable<Buffer> }> {
    const method = opts.method ?? 'GET';
    const res = await this.send(opts, method, true);
    if (res.statusCode >= 400) throw ApiError.fromResponse(res.statusCode, await res.body.text(), method, opts.path);
    return { status: res.statusCode, headers: res.headers, body: res.body as AsyncIterable<Buffer> };
  }

  /** Send a request and parse the JSON answer; failures become ApiError. */
  async requestJson<T>(opts: RequestOptions): Promise<T> {
    const method = opts.method ?? 'GET';
    const res = await this.request(opts);
    if (res.status >= 400) throw ApiError.fromResponse(res.status, res.body, method, opts.path);
    if (!res.body) return undefined as T;
    try {
      return JSON.parse(res.body) as T;
    } catch (err) {
      throw new Error(`${method} ${opts.path}: the server answered ${res.status} with a body that is not JSON: ${res.body.slice(0, 200)}`, { cause: err });
    }
  }

  get<T = KubeObject>(ref: ResourceRef, name: string, opts: ReadOptions = {}): Promise<T> {
    return this.requestJson<T>({ path: resourcePath(ref, { namespace: opts.namespace, name }), accept: opts.accept, query: opts.query });
  }

  list<T = KubeList>(ref: ResourceRef, opts: ListOptions = {}): Promise<T> {
    return this.requestJson<T>({
      path: resourcePath(ref, { namespace: opts.namespace }),
      accept: opts.accept,
      query: {
        ...opts.query,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
    });
  }

  create<T = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const namespace = opts.namespace ?? obj.metadata?.namespace;
    return this.requestJson<T>({
      method: 'POST',
      path: resourcePath(ref, { namespace }),
      body: obj,
      query: writeQuery(opts),
    });
  }

  /** PUT the whole object (metadata.resourceVersion makes it a compare-and-swap). */
  update<T = KubeObject>(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`update ${ref.plural}: the object has no metadata.name`);
    return this.requestJson<T>({
      method: 'PUT',
      path: resourcePath(ref, { namespace: opts.namespace ?? obj.metadata.namespace, name, subresource: opts.subresource }),
      body: obj,
      query: writeQuery(opts),
    });
  }

  patch<T = KubeObject>(ref: ResourceRef, name: string, patch: unknown, contentType: PatchType, opts: PatchOptions = {}): Promise<T> {
    if (contentType === 'application/apply-patch+yaml' && !opts.fieldManager) {
      throw new Error(`server-side apply of ${ref.plural} "${name}" needs a fieldManager`);
    }
    return this.requestJson<T>({
      method: 'PATCH',
      path: resourcePath(ref, { namespace: opts.namespace, name, subresource: opts.subresource }),
      body: patch,
      contentType,
      query: { ...writeQuery(opts), force: opts.force ? true : undefined },
    });
  }

  /** Returns the object (still terminating when graceful or with finalizers) or a Success Status. */
  delete(ref: ResourceRef, name: string, opts: DeleteOptions = {}): Promise<KubeObject | Status> {
    const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    if (opts.dryRun) body.dryRun = ['All'];
    return this.requestJson<KubeObject | Status>({
      method: 'DELETE',
      path: resourcePath(ref, { namespace: opts.namespace, name }),
      body,
      // Also as query parameters: both are part of the API and some servers read only one.
      query: { propagationPolicy: opts.propagationPolicy, gracePeriodSeconds: opts.gracePeriodSeconds, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /**
   * Watch a resource. Yields events until the server ends the stream, the
   * signal aborts or the consumer stops iterating (which closes the stream).
   * ERROR events (e.g. 410 Gone for a compacted resourceVersion) are yielded
   * as they are, so an informer can re-list; `ApiError.fromStatus` decodes them.
   */
  async *watch<T = KubeObject>(ref: ResourceRef, opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(opts.signal?.reason);
    if (opts.signal?.aborted) return;
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const path = resourcePath(ref, { namespace: opts.namespace });
    try {
      const res = await this.send(
        {
          path,
          accept: opts.accept,
          signal: stop.signal,
          timeoutMs: 0,
          query: {
            ...opts.query,
            watch: true,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
            resourceVersion: opts.resourceVersion,
            allowWatchBookmarks: opts.allowWatchBookmarks ? true : undefined,
            timeoutSeconds: opts.timeoutSeconds,
          },
        },
        'GET',
        true,
      );
      if (res.statusCode >= 400) throw ApiError.fromResponse(res.statusCode, await res.body.text(), 'GET', path);
      for await (const line of parseJsonLines(res.body)) {
        const ev = line as { type?: unknown; object?: unknown };
        if (typeof ev.type !== 'string' || typeof ev.object !== 'object' || ev.object === null) {
          // A bare Status instead of an event means the watch failed outright.
          if (isStatus(line)) throw ApiError.fromStatus(line);
          throw new Error(`watch ${path}: unexpected line ${JSON.stringify(line).slice(0, 200)}`);
        }
        yield line as WatchEvent<T>;
      }
    } catch (err) {
      if (stop.signal.aborted) return; // asked to stop: not an error
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      stop.abort(); // releases the connection when the consumer broke out early
    }
  }

  private async send(opts: RequestOptions, method: Dispatcher.HttpMethod, streaming: boolean): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { accept: opts.accept ?? JSON_TYPE, 'user-agent': 'lodge-client', ...opts.headers };
    if (this.config.token) headers.authorization = `Bearer ${this.config.token}`;
    let body: string | Uint8Array | Readable | undefined;
    if (opts.body !== undefined) {
      // A Readable is streamed as it is (an upload such as lodge import's tarball), never buffered.
      body = typeof opts.body === 'string' || opts.body instanceof Uint8Array || opts.body instanceof Readable ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? JSON_TYPE;
    }
    const timeoutMs = opts.timeoutMs ?? this.config.timeoutMs ?? 0;
    const signals = [opts.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter((s): s is AbortSignal => s !== undefined);
    const path = this.basePath + opts.path + queryString(opts.query);
    try {
      return await this.pool.request({
        path,
        method,
        headers,
        body,
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
        // A watch may be silent for minutes between events; never time out its body.
        bodyTimeout: streaming ? 0 : undefined,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw describeNetworkError(err, this.config.server, method, opts.path);
    }
  }
}

function writeQuery(opts: WriteOptions): Record<string, QueryValue> {
  return { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined, fieldValidation: opts.fieldValidation };
}
