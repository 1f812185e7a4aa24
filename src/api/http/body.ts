// Request bodies: bounded in size, JSON or YAML by Content-Type.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { parse as parseYaml } from 'yaml';
import { badRequest, tooLarge, unsupportedMediaType } from '../status.js';

export const MAX_BODY = 3 * 1024 * 1024;

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
  try {
    if (type.endsWith('yaml')) return parseYaml(text, { maxAliasCount: 100 });
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`the request body could not be decoded as ${type.endsWith('yaml') ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
}
