// Writing responses: JSON (or YAML when asked), Status errors, Warning headers.
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { stringify as toYaml } from 'yaml';
import { ApiError, internalError } from '../status.js';

export type ApiResponse = ServerResponse | Http2ServerResponse;

export function wantsYaml(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(',')[0].split(';')[0].trim();
  return first === 'application/yaml';
}

/** Send a body that is already JSON text. */
export function sendRaw(res: ApiResponse, code: number, json: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(json);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': String(body.length), ...headers });
  res.end(body);
}

export function sendJson(res: ApiResponse, code: number, body: unknown, o: { yaml?: boolean; headers?: Record<string, string> } = {}): void {
  if (o.yaml) {
    const text = Buffer.from(toYaml(body));
    res.writeHead(code, { 'content-type': 'application/yaml', 'content-length': String(text.length), ...o.headers });
    res.end(text);
    return;
  }
  sendRaw(res, code, JSON.stringify(body), o.headers);
}

export function warningHeaders(warnings: string[]): Record<string, string> {
  if (!warnings.length) return {};
  // RFC 7234 warn-code 299, agent "-", as the apiserver sends them.
  return { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') };
}

export function sendError(res: ApiResponse, err: unknown, log?: (msg: string, fields: Record<string, unknown>) => void): void {
  const api = err instanceof ApiError ? err : internalError(`internal error: ${(err as Error)?.message ?? String(err)}`);
  if (!(err instanceof ApiError) && log) log('request failed', { error: (err as Error)?.stack ?? String(err) });
  if (res.headersSent) {
    res.end();
    return;
  }
  // As kube-apiserver's response writer: a Status that says when to retry says it in the header too.
  const after = api.details?.retryAfterSeconds;
  sendJson(res, api.code, api.toStatus(), after && after > 0 ? { headers: { 'retry-after': String(after) } } : {});
}
