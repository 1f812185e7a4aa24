// Request bodies: bounded in size, JSON or YAML by Content-Type.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { parse as parseYaml } from 'yaml';
import { badRequest, tooLarge, unsupportedMediaType } from '../status.js';

export const MAX_BODY = 3 * 1024 * 1024;
/**
 * How deeply a body may nest. Admission, patching and cloning walk objects
 * recursively, and a few thousand levels exhaust the stack (a 500); no
 * Kubernetes object comes near this.
 */
export const MAX_DEPTH = 512;

export type ApiRequest = IncomingMessage | Http2ServerRequest;

export async function readBody(req: ApiRequest, limit = MAX_BODY): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function mediaType(req: ApiRequest): string {
  return String(req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
}

/** Decode a JSON or YAML body. `allowed` are the media types the verb takes. */
export function decodeBody(buf: Buffer, type: string, allowed: string[]): unknown {
  if (!allowed.includes(type)) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${allowed.join(', ')}`);
  const text = buf.toString('utf8');
  if (!text.trim()) throw badRequest('the request body is empty');
  let value: unknown;
  try {
    value = type.endsWith('yaml') ? parseYaml(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body could not be decoded as ${type.endsWith('yaml') ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  if (depthOf(value) > MAX_DEPTH) throw badRequest(`the request body is nested more than ${MAX_DEPTH} levels deep`);
  return value;
}

/** Nesting depth of a decoded value, without recursion (the point is not to overflow). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (d + 1 > max) {
      max = d + 1;
      if (max > MAX_DEPTH) return max;
    }
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child && typeof child === 'object') stack.push([child, d + 1]);
  }
  return max;
}
