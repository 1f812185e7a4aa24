// apiserver_request_duration_seconds and apiserver_request_total, labelled
// as kube-apiserver labels them (verb, group, resource, subresource, scope),
// so Kubernetes' API latency SLIs — single-object reads and mutating calls,
// long-running requests (watch, exec, port-forward, consoles, log streams)
// left out — can be read off /metrics.
import { metrics, REQUEST_DURATION_BUCKETS } from '../metrics/metrics.js';
import { beginForeground } from '../../util/time-slice.js';
import type { ApiRequest } from './body.js';
import type { ApiResponse } from './respond.js';

const duration = metrics.histogram(
  'apiserver_request_duration_seconds',
  'Response latency distribution in seconds for each verb, group, resource, subresource and scope (long-running requests excluded).',
  REQUEST_DURATION_BUCKETS,
  ['verb', 'group', 'resource', 'subresource', 'scope'],
);
const total = metrics.counter('apiserver_request_total', 'Counter of apiserver requests broken out for each verb, group, resource, scope and HTTP response code.', ['verb', 'group', 'resource', 'subresource', 'scope', 'code']);

/** Subresources that stream for as long as the client wants: not latencies. */
const LONG_RUNNING = new Set(['exec', 'attach', 'portforward', 'console', 'export', 'import', 'proxy']);

export interface RequestTarget {
  resource: string;
  group: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  query: URLSearchParams;
}

function verbOf(method: string, t: RequestTarget, contentType: string): string {
  switch (method) {
    case 'GET':
      if (!t.name) return t.query.get('watch') === 'true' || t.query.get('watch') === '1' ? 'WATCH' : 'LIST';
      return 'GET';
    case 'PATCH':
      return contentType.startsWith('application/apply-patch') ? 'APPLY' : 'PATCH';
    case 'DELETE':
      return t.name ? 'DELETE' : 'DELETECOLLECTION';
    default:
      return method;
  }
}

/** Record the request when its response is done. */
export function observeRequest(req: ApiRequest, res: ApiResponse, t: RequestTarget, started: number): void {
  const verb = verbOf(req.method ?? 'GET', t, String(req.headers['content-type'] ?? ''));
  const sub = t.subresource ?? '';
  const longRunning = verb === 'WATCH' || LONG_RUNNING.has(sub) || (sub === 'log' && t.query.get('follow') === 'true');
  const labels = { verb, group: t.group, resource: t.resource, subresource: sub, scope: t.name ? 'resource' : t.namespace ? 'namespace' : 'cluster' };
  const done = longRunning ? undefined : beginForeground();
  if (done) (res as unknown as import('node:events').EventEmitter).once('close', done);
  (res as unknown as import('node:events').EventEmitter).once('finish', () => {
    done?.();
    total.inc({ ...labels, code: String((res as { statusCode?: number }).statusCode ?? 0) });
    if (!longRunning) duration.observe(labels, (performance.now() - started) / 1000);
  });
}
