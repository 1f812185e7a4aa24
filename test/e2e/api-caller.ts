// Raw-HTTPS helpers shared by the api-*.test.ts files: every call asserts the
// server did not answer 500, `ok` also asserts a 2xx and decodes the body.
import assert from 'node:assert/strict';
import { api, type ApiResult, type Lodge } from './harness.js';

export interface ApiCaller {
  /** The running lodge (asserts it started). */
  L(): Lodge;
  call(method: string, path: string, o?: Parameters<typeof api>[3]): Promise<ApiResult>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON fields
  ok(method: string, path: string, body?: unknown, contentType?: string): Promise<any>;
}

export function apiCaller(current: () => Lodge | undefined): ApiCaller {
  const L = (): Lodge => {
    const lodge = current();
    assert.ok(lodge, 'lodge is running');
    return lodge;
  };
  const call = async (method: string, path: string, o: Parameters<typeof api>[3] = {}): Promise<ApiResult> => {
    const r = await api(L(), method, path, o);
    assert.notEqual(r.status, 500, `${method} ${path} answered 500: ${r.text}`);
    return r;
  };
  const ok = async (method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<unknown> => {
    const r = await call(method, path, body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), contentType });
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.json();
  };
  return { L, call, ok };
}
