// A policy/v1 Eviction (POST .../pods/NAME/eviction, what `kubectl drain`
// sends): the Pod's name and the DeleteOptions to delete it with. kubectl
// sends it as protobuf; this small message is read straight off the wire
// (Eviction{metadata=1, deleteOptions=2}, DeleteOptions{gracePeriodSeconds=1,
// preconditions=2{uid=1, resourceVersion=2}, propagationPolicy=4,
// dryRun=5}) rather than through the schema-driven decoder, which knows only
// the kinds Lodge stores.
import { PROTOBUF_MEDIA_TYPE, readEnvelope, ProtobufError } from '../protobuf/index.js';
import { int64, LEN, VARINT, WireReader, utf8String } from '../protobuf/wire.js';
import type { DeleteOptions } from '../resources/resource-service.js';
import { badRequest } from '../status.js';
import { decodeBody } from '../http/body.js';

export interface EvictionRequest {
  name?: string;
  namespace?: string;
  deleteOptions: DeleteOptions;
}

const POLICIES = ['Foreground', 'Background', 'Orphan'];

function checked(o: { name?: string; namespace?: string; grace?: number; policy?: string; uid?: string; resourceVersion?: string; dryRun: string[] }): EvictionRequest {
  if (o.policy !== undefined && !POLICIES.includes(o.policy)) throw badRequest(`deleteOptions.propagationPolicy must be Foreground, Background or Orphan, not ${JSON.stringify(o.policy)}`);
  if (o.grace !== undefined && (!Number.isInteger(o.grace) || o.grace < 0)) throw badRequest('deleteOptions.gracePeriodSeconds must be a non-negative integer');
  for (const d of o.dryRun) if (d !== 'All') throw badRequest(`deleteOptions.dryRun must be "All", not ${JSON.stringify(d)}`);
  const preconditions = o.uid || o.resourceVersion ? { ...(o.uid ? { uid: o.uid } : {}), ...(o.resourceVersion ? { resourceVersion: o.resourceVersion } : {}) } : undefined;
  return {
    name: o.name || undefined,
    namespace: o.namespace || undefined,
    deleteOptions: { propagationPolicy: o.policy as DeleteOptions['propagationPolicy'], gracePeriodSeconds: o.grace, preconditions, dryRun: o.dryRun.includes('All') },
  };
}

function fromProtobuf(buf: Uint8Array): EvictionRequest {
  const env = readEnvelope(buf);
  if (env.kind !== 'Eviction') throw new ProtobufError(`expected an Eviction, got ${env.kind} (${env.apiVersion})`);
  const out: Parameters<typeof checked>[0] = { dryRun: [] };
  const r = new WireReader(env.raw);
  while (!r.done()) {
    const f = r.tag();
    if (f.num === 1 && f.wire === LEN) {
      const m = new WireReader(r.bytes());
      while (!m.done()) {
        const g = m.tag();
        if ((g.num === 1 || g.num === 3) && g.wire === LEN) {
          const s = utf8String(m.bytes(), 'metadata');
          if (g.num === 1) out.name = s;
          else out.namespace = s;
        } else m.skip(g.wire);
      }
    } else if (f.num === 2 && f.wire === LEN) {
      const d = new WireReader(r.bytes());
      while (!d.done()) {
        const g = d.tag();
        if (g.num === 1 && g.wire === VARINT) out.grace = Number(int64(d.varint()));
        else if (g.num === 2 && g.wire === LEN) {
          const p = new WireReader(d.bytes());
          while (!p.done()) {
            const h = p.tag();
            if ((h.num === 1 || h.num === 2) && h.wire === LEN) {
              const s = utf8String(p.bytes(), 'preconditions');
              if (h.num === 1) out.uid = s;
              else out.resourceVersion = s;
            } else p.skip(h.wire);
          }
        } else if (g.num === 4 && g.wire === LEN) out.policy = utf8String(d.bytes(), 'propagationPolicy');
        else if (g.num === 5 && g.wire === LEN) out.dryRun.push(utf8String(d.bytes(), 'dryRun'));
        else d.skip(g.wire);
      }
    } else r.skip(f.wire);
  }
  return checked(out);
}

/** An Eviction body in JSON, YAML or Kubernetes protobuf. */
export function parseEviction(buf: Buffer, mediaType: string): EvictionRequest {
  if (mediaType === PROTOBUF_MEDIA_TYPE) {
    try {
      return fromProtobuf(buf);
    } catch (e) {
      if (e instanceof ProtobufError) throw badRequest(`the protobuf body could not be decoded: ${e.message}`);
      throw e;
    }
  }
  const body = (decodeBody(buf, mediaType, ['application/json', 'application/yaml', '*/*']) ?? {}) as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown }; deleteOptions?: Record<string, unknown> };
  if (body.kind !== undefined && body.kind !== 'Eviction') throw badRequest(`an eviction must be of kind Eviction, not ${JSON.stringify(body.kind)}`);
  const d = body.deleteOptions ?? {};
  const pre = (d.preconditions ?? {}) as Record<string, unknown>;
  const str = (v: unknown, field: string): string | undefined => {
    if (v == null) return undefined;
    if (typeof v !== 'string') throw badRequest(`${field} must be a string`);
    return v;
  };
  if (d.gracePeriodSeconds != null && typeof d.gracePeriodSeconds !== 'number') throw badRequest('deleteOptions.gracePeriodSeconds must be an integer');
  if (d.dryRun != null && !(Array.isArray(d.dryRun) && d.dryRun.every((x) => typeof x === 'string'))) throw badRequest('deleteOptions.dryRun must be an array of strings');
  return checked({
    name: str(body.metadata?.name, 'metadata.name'),
    namespace: str(body.metadata?.namespace, 'metadata.namespace'),
    grace: d.gracePeriodSeconds as number | undefined,
    policy: str(d.propagationPolicy, 'deleteOptions.propagationPolicy'),
    uid: str(pre.uid, 'deleteOptions.preconditions.uid'),
    resourceVersion: str(pre.resourceVersion, 'deleteOptions.preconditions.resourceVersion'),
    dryRun: (d.dryRun as string[] | undefined) ?? [],
  });
}
