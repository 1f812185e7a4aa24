// Kubernetes protobuf request bodies → the JSON objects the rest of the
// server handles. kubectl 1.32+ sends typed objects (kubectl create
// namespace/configmap/secret/deployment/service...) as
// application/vnd.kubernetes.protobuf: the magic "k8s\0", then a
// runtime.Unknown {typeMeta{apiVersion, kind}, raw, contentEncoding,
// contentType} whose raw is the object's own message.
//
// The kind's schema drives the decoding (JSON names, types, nesting); the
// tables in fields-*.ts give each JSON field its protobuf field number.
//
// Zero values. Go's protobuf encoder writes every non-pointer scalar, even
// "", 0 and false, so the wire alone cannot say whether a client set them.
// The rule here reproduces what the same Go object would look like in JSON:
//  - a scalar (string, integer, boolean, bytes) equal to its zero value is
//    dropped unless the tables list it in keepZero: Go pointers (present on
//    the wire only when the client set them, so replicas: 0 or
//    automountServiceAccountToken: false survive) and fields without
//    omitempty (containerPort, Condition.reason...). A schema default never
//    keeps a zero: a non-pointer field with a default (protocol: "TCP",
//    Probe.timeoutSeconds: 1) arrives as "" or 0 when unset and has to be
//    dropped for the default to apply, exactly as with JSON;
//  - messages are kept even when empty ("strategy": {}, "status": {}), as
//    Go's JSON writes non-pointer structs; so are Quantity ("0") and
//    IntOrString (0) values, which are structs in Go;
//  - a zero Time or MicroTime (an empty message, or 0001-01-01T00:00:00Z)
//    is dropped where Go's JSON would write null (creationTimestamp: null);
//  - empty lists and maps never reach the wire, so they never appear.
// Fields the tables do not know, or the schema does not model, are skipped
// and described in the optional `notes` list.
import type { Registry } from '../../apis/registry.js';
import type { Schema } from '../../apis/schema.js';
import { freeformMessages, shadowDefinitions } from './shadow.js';
import { messageInfo, type MessageInfo } from './tables.js';
import { FIXED32, FIXED64, LEN, ProtobufError, VARINT, WireReader, int64, utf8String } from './wire.js';

export { ProtobufError } from './wire.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = [0x6b, 0x38, 0x73, 0x00]; // "k8s\0"
const CORE = 'io.k8s.api.core.v1.';
// Deeper nesting than any Kubernetes kind has (a Pod is about 10 levels):
// stops hostile bodies from exhausting the stack via free-form recursion.
const MAX_DEPTH = 64;
// Go's zero time.Time, 0001-01-01T00:00:00Z, in Unix seconds.
const GO_ZERO_TIME = -62135596800n;
// RFC 3339 as Kubernetes writes it allows years 0000-9999.
const MAX_UNIX_SECONDS = 253402300799n;
const MIN_UNIX_SECONDS = -62167219200n;

export interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** The runtime.Unknown wrapper after the magic bytes. */
export function readEnvelope(body: Uint8Array): Envelope {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtobufError('the body does not start with the Kubernetes protobuf magic "k8s\\x00"');
  }
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '', contentType: '' };
  let sawTypeMeta = false;
  const r = new WireReader(body.subarray(MAGIC.length));
  while (!r.done()) {
    const { num, wire } = r.tag();
    if (num >= 1 && num <= 4 && wire !== LEN) throw new ProtobufError(`runtime.Unknown field ${num} has wire type ${wire}, expected length-delimited`);
    if (num === 1) {
      sawTypeMeta = true;
      const t = new WireReader(r.bytes());
      while (!t.done()) {
        const f = t.tag();
        if ((f.num === 1 || f.num === 2) && f.wire === LEN) {
          const s = utf8String(t.bytes(), 'typeMeta');
          if (f.num === 1) env.apiVersion = s;
          else env.kind = s;
        } else t.skip(f.wire);
      }
    } else if (num === 2) env.raw = r.bytes();
    else if (num === 3) env.contentEncoding = utf8String(r.bytes(), 'contentEncoding');
    else if (num === 4) env.contentType = utf8String(r.bytes(), 'contentType');
    else r.skip(wire);
  }
  if (!sawTypeMeta || !env.kind || !env.apiVersion) throw new ProtobufError('the protobuf envelope names no apiVersion and kind');
  return env;
}

/**
 * Decode a Kubernetes protobuf body (Content-Type
 * application/vnd.kubernetes.protobuf) into the object's JSON form,
 * apiVersion and kind first. Throws ProtobufError when the body is
 * malformed or its kind is not one Lodge can decode. Fields that were
 * skipped (unknown numbers, fields Lodge's schema lacks) are described in
 * `notes` when given.
 */
export function decodeKubernetesProtobuf(body: Uint8Array, registry: Registry, notes?: string[]): Record<string, unknown> {
  const env = readEnvelope(body);
  if (env.contentEncoding) throw new ProtobufError(`content encoding ${JSON.stringify(env.contentEncoding)} is not supported`);
  if (env.contentType && env.contentType !== PROTOBUF_MEDIA_TYPE) {
    throw new ProtobufError(`the envelope's raw object is ${JSON.stringify(env.contentType)}, not ${PROTOBUF_MEDIA_TYPE}`);
  }
  const rt = registry.kind(env.apiVersion, env.kind);
  if (!rt) throw new ProtobufError(`kind ${env.kind} of ${env.apiVersion} is not served here`);
  if (!messageInfo(rt.definition)) {
    throw new ProtobufError(`${env.kind} (${env.apiVersion}) has no protobuf encoding here; send it as application/json`);
  }
  const d = new Decoder(registry, notes);
  const obj = d.message(env.raw, rt.definition, '', 0);
  return { apiVersion: env.apiVersion, kind: env.kind, ...obj };
}

/** Where a field sits, for schema look-ups that are per message (keepZero, opaque, free-form shapes). */
interface FieldCtx {
  /** The table (Go struct) the field number belongs to: an embedded struct's, for inlined fields. */
  info: MessageInfo;
  /** The definition whose schema has the field (the outer one for inlined fields). */
  definition: string;
  json: string;
  where: string;
  depth: number;
}

type Shape =
  | { k: 'message'; definition: string }
  | { k: 'opaque'; kind: 'FieldsV1' | 'RawExtension' }
  | { k: 'time'; micro: boolean }
  | { k: 'quantity' }
  | { k: 'intOrString' }
  | { k: 'bytes' }
  | { k: 'string' }
  | { k: 'integer'; bits: 32 | 64 }
  | { k: 'boolean' }
  | { k: 'number' }
  | { k: 'array'; items: Schema }
  | { k: 'map'; values: Schema }
  | { k: 'unknown'; why: string };

const SKIP = Symbol('skip');
type Value = unknown;

class Decoder {
  constructor(
    private readonly registry: Registry,
    private readonly notes: string[] | undefined,
  ) {}

  private note(s: string): void {
    this.notes?.push(s);
  }

  private definition(name: string): Schema {
    const s = this.registry.definitions[name] ?? shadowDefinitions[name];
    if (!s) throw new ProtobufError(`schema definition ${name} is missing`);
    return s;
  }

  message(buf: Uint8Array, definition: string, where: string, depth: number, into: Record<string, unknown> = {}): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new ProtobufError(`${where || 'object'}: messages nested too deeply`);
    const info = messageInfo(definition);
    if (!info) throw new ProtobufError(`${where || 'object'}: no protobuf field numbers are known for ${definition}`);
    this.fill(into, buf, info, definition, where, depth);
    return into;
  }

  /** Decode `buf` as message `info` into `out`, with JSON names and types from `definition`'s schema. */
  private fill(out: Record<string, unknown>, buf: Uint8Array, info: MessageInfo, definition: string, where: string, depth: number): void {
    const props = this.definition(definition).properties ?? {};
    const r = new WireReader(buf);
    while (!r.done()) {
      const { num, wire } = r.tag();
      const slot = info.byNumber.get(num);
      if (!slot) {
        this.note(`${where || '(object)'}: unknown field number ${num} of ${info.name}, skipped`);
        r.skip(wire);
        continue;
      }
      if ('embedded' in slot) {
        // An embedded Go struct: its fields belong to this JSON object.
        expectWire(wire, LEN, `${where || '(object)'} (embedded ${slot.embedded})`);
        const sub = messageInfo(slot.embedded);
        if (!sub) throw new ProtobufError(`no protobuf field numbers are known for ${slot.embedded}`);
        if (depth + 1 > MAX_DEPTH) throw new ProtobufError(`${where}: messages nested too deeply`);
        this.fill(out, r.bytes(), sub, definition, where, depth + 1);
        continue;
      }
      const json = slot.json;
      const at = where ? `${where}.${json}` : json;
      const schema = props[json];
      if (!schema) {
        this.note(`${at} (field ${num} of ${info.name}): not in Lodge's schema, skipped`);
        r.skip(wire);
        continue;
      }
      this.field(out, schema, r, wire, { info, definition, json, where: at, depth });
    }
  }

  private field(out: Record<string, unknown>, schema: Schema, r: WireReader, wire: number, c: FieldCtx): void {
    const shape = this.shape(schema, c);
    if (shape.k === 'array') {
      const itemShape = this.shape(shape.items, c);
      const list = Array.isArray(out[c.json]) ? (out[c.json] as unknown[]) : [];
      if (wire === LEN && isPackable(itemShape)) {
        // Packed repeated scalars: one length-delimited run of values.
        const run = new WireReader(r.bytes());
        while (!run.done()) list.push(this.scalar(itemShape, run, packedWire(itemShape), c));
      } else {
        const v = this.value(itemShape, r, wire, { ...c, where: `${c.where}[${list.length}]` });
        if (v !== SKIP && v !== undefined) list.push(v);
      }
      out[c.json] = list;
      return;
    }
    if (shape.k === 'map') {
      expectWire(wire, LEN, c.where);
      const map = isRecord(out[c.json]) ? out[c.json] as Record<string, unknown> : {};
      const [key, v] = this.mapEntry(r.bytes(), shape.values, c);
      if (v !== SKIP && v !== undefined) map[key] = v;
      out[c.json] = map;
      return;
    }
    if (shape.k === 'message' && isRecord(out[c.json])) {
      // A message field seen twice merges, as protobuf specifies.
      expectWire(wire, LEN, c.where);
      this.message(r.bytes(), shape.definition, c.where, c.depth + 1, out[c.json] as Record<string, unknown>);
      return;
    }
    const v = this.value(shape, r, wire, c);
    if (v === SKIP) return;
    if (v === undefined || (isZeroScalar(shape, v) && !c.info.keepZero.has(c.json))) {
      delete out[c.json]; // last value wins, and this one is "unset"
      return;
    }
    out[c.json] = v;
  }

  /** One map<string, V> entry: a message {key = 1, value = 2}. */
  private mapEntry(buf: Uint8Array, valueSchema: Schema, c: FieldCtx): [string, Value] {
    const shape = this.shape(valueSchema, c);
    const r = new WireReader(buf);
    let key = '';
    let value: Value;
    while (!r.done()) {
      const { num, wire } = r.tag();
      if (num === 1) {
        expectWire(wire, LEN, `${c.where} (map key)`);
        key = utf8String(r.bytes(), `${c.where} (map key)`);
      } else if (num === 2) {
        value = this.value(shape, r, wire, { ...c, where: `${c.where}[${JSON.stringify(key)}]` });
      } else r.skip(wire);
    }
    // A value left out on the wire is its type's zero value.
    if (value === undefined) value = this.zero(shape, c);
    return [key, value];
  }

  private zero(shape: Shape, c: FieldCtx): Value {
    switch (shape.k) {
      case 'string':
      case 'bytes':
        return '';
      case 'integer':
      case 'number':
        return 0;
      case 'boolean':
        return false;
      case 'quantity':
        return '0';
      case 'message':
        return this.message(new Uint8Array(0), shape.definition, c.where, c.depth + 1);
      default:
        return undefined;
    }
  }

  /** What a schema says to expect on the wire. */
  private shape(schema: Schema, c: FieldCtx): Shape {
    if (schema.$ref) return { k: 'message', definition: schema.$ref };
    if (schema.type === 'array') return schema.items ? { k: 'array', items: schema.items } : { k: 'unknown', why: 'a list without an item schema' };
    if (schema['x-kubernetes-int-or-string']) return schema.format === 'quantity' ? { k: 'quantity' } : { k: 'intOrString' };
    if (schema.type === 'object' || schema['x-kubernetes-preserve-unknown-fields']) {
      if (schema.properties) return { k: 'unknown', why: 'an inline object schema (Lodge names every message)' };
      if (isRecord(schema.additionalProperties)) return { k: 'map', values: schema.additionalProperties as Schema };
      const opaque = c.info.opaque.get(c.json);
      if (opaque) return { k: 'opaque', kind: opaque };
      const shadow = c.definition.startsWith(CORE) ? freeformMessages[`${c.definition.slice(CORE.length)}.${c.json}`] : undefined;
      if (shadow) return { k: 'message', definition: shadow };
      return { k: 'unknown', why: 'a free-form field whose message is not known' };
    }
    switch (schema.type) {
      case 'string':
        if (schema.format === 'date-time') return { k: 'time', micro: c.info.microTime.has(c.json) };
        if (schema.format === 'byte') return { k: 'bytes' };
        return { k: 'string' };
      case 'integer':
        return { k: 'integer', bits: schema.format === 'int32' ? 32 : 64 };
      case 'boolean':
        return { k: 'boolean' };
      case 'number':
        return { k: 'number' };
      default:
        return { k: 'unknown', why: 'a schema without a type' };
    }
  }

  private value(shape: Shape, r: WireReader, wire: number, c: FieldCtx): Value | typeof SKIP {
    switch (shape.k) {
      case 'unknown':
        this.note(`${c.where}: ${shape.why}, skipped`);
        r.skip(wire);
        return SKIP;
      case 'array':
      case 'map':
        // A list of lists or map of maps: Kubernetes' messages have none.
        this.note(`${c.where}: nested lists and maps are not decoded, skipped`);
        r.skip(wire);
        return SKIP;
      case 'message':
        expectWire(wire, LEN, c.where);
        return this.message(r.bytes(), shape.definition, c.where, c.depth + 1);
      case 'opaque':
        expectWire(wire, LEN, c.where);
        return rawJson(r.bytes(), c.where, shape.kind);
      case 'time':
        expectWire(wire, LEN, c.where);
        return time(r.bytes(), shape.micro, c.where);
      case 'quantity':
        expectWire(wire, LEN, c.where);
        return quantity(r.bytes(), c.where);
      case 'intOrString':
        expectWire(wire, LEN, c.where);
        return intOrString(r.bytes(), c.where);
      default:
        return this.scalar(shape, r, wire, c);
    }
  }

  private scalar(shape: Shape, r: WireReader, wire: number, c: FieldCtx): Value {
    switch (shape.k) {
      case 'string':
        expectWire(wire, LEN, c.where);
        return utf8String(r.bytes(), c.where);
      case 'bytes':
        // JSON carries []byte as base64 (Secret.data, ConfigMap.binaryData).
        expectWire(wire, LEN, c.where);
        return Buffer.from(r.bytes()).toString('base64');
      case 'integer': {
        expectWire(wire, VARINT, c.where);
        const v = shape.bits === 32 ? BigInt.asIntN(32, r.varint()) : int64(r.varint());
        return this.toNumber(v, c.where);
      }
      case 'boolean':
        expectWire(wire, VARINT, c.where);
        return r.varint() !== 0n;
      case 'number': {
        if (wire === FIXED64) return Buffer.from(r.fixed64()).readDoubleLE(0);
        if (wire === FIXED32) return Buffer.from(r.fixed32()).readFloatLE(0);
        throw new ProtobufError(`${c.where}: wire type ${wire}, expected a fixed-size number`);
      }
      default:
        throw new ProtobufError(`${c.where}: not a scalar`);
    }
  }

  private toNumber(v: bigint, where: string): number {
    const n = Number(v);
    // Beyond 2^53 a JSON body would lose precision in JSON.parse too; keep that behaviour, but say so.
    if (!Number.isSafeInteger(n)) this.note(`${where}: ${v} exceeds JavaScript's exact integer range; rounded to ${n}`);
    return n;
  }
}

function expectWire(wire: number, want: number, where: string): void {
  if (wire !== want) throw new ProtobufError(`${where}: wire type ${wire}, expected ${WIRE_NAMES[want]}`);
}

const WIRE_NAMES: Record<number, string> = { [VARINT]: 'a varint', [FIXED64]: 'fixed64', [LEN]: 'length-delimited', [FIXED32]: 'fixed32' };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPackable(s: Shape): boolean {
  return s.k === 'integer' || s.k === 'boolean' || s.k === 'number';
}

function packedWire(s: Shape): number {
  return s.k === 'number' ? FIXED64 : VARINT;
}

function isZeroScalar(s: Shape, v: unknown): boolean {
  switch (s.k) {
    case 'string':
    case 'bytes':
      return v === '';
    case 'integer':
    case 'number':
      return v === 0;
    case 'boolean':
      return v === false;
    default:
      return false;
  }
}

/** Fields of a small fixed message, by number (last one wins), each checked for its wire type. */
function smallMessage(buf: Uint8Array, where: string, wires: Record<number, number>): Map<number, Uint8Array | bigint> {
  const out = new Map<number, Uint8Array | bigint>();
  const r = new WireReader(buf);
  while (!r.done()) {
    const { num, wire } = r.tag();
    const want = wires[num];
    if (want === undefined) {
      r.skip(wire);
      continue;
    }
    expectWire(wire, want, `${where} (field ${num})`);
    out.set(num, want === LEN ? r.bytes() : r.varint());
  }
  return out;
}

/** metav1.Time / MicroTime: {seconds = 1, nanos = 2}. Time drops nanos as Kubernetes does; MicroTime keeps microseconds. */
function time(buf: Uint8Array, micro: boolean, where: string): string | undefined {
  const f = smallMessage(buf, where, { 1: VARINT, 2: VARINT });
  const seconds = int64((f.get(1) as bigint | undefined) ?? 0n);
  const nanos = Number(BigInt.asIntN(32, (f.get(2) as bigint | undefined) ?? 0n));
  if (buf.length === 0 || (seconds === GO_ZERO_TIME && nanos === 0)) return undefined;
  if (seconds < MIN_UNIX_SECONDS || seconds > MAX_UNIX_SECONDS) throw new ProtobufError(`${where}: time ${seconds}s is outside years 0000-9999`);
  if (nanos < 0 || nanos > 999_999_999) throw new ProtobufError(`${where}: nanoseconds ${nanos} out of range`);
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

/** resource.Quantity: {string = 1}. The server parses and validates the string as with JSON. */
function quantity(buf: Uint8Array, where: string): string {
  const s = smallMessage(buf, where, { 1: LEN }).get(1) as Uint8Array | undefined;
  return s === undefined ? '0' : utf8String(s, where);
}

/** intstr.IntOrString: {type = 1 (0 int, 1 string), intVal = 2, strVal = 3}. */
function intOrString(buf: Uint8Array, where: string): number | string {
  const f = smallMessage(buf, where, { 1: VARINT, 2: VARINT, 3: LEN });
  const type = (f.get(1) as bigint | undefined) ?? 0n;
  if (type === 1n) {
    const s = f.get(3) as Uint8Array | undefined;
    return s === undefined ? '' : utf8String(s, where);
  }
  if (type !== 0n) throw new ProtobufError(`${where}: IntOrString type ${type} is neither 0 (int) nor 1 (string)`);
  return Number(BigInt.asIntN(32, (f.get(2) as bigint | undefined) ?? 0n));
}

/** FieldsV1 {Raw = 1} and runtime.RawExtension {raw = 1}: JSON bytes. Empty is Go's null, left out. */
function rawJson(buf: Uint8Array, where: string, kind: string): unknown {
  const raw = smallMessage(buf, where, { 1: LEN }).get(1) as Uint8Array | undefined;
  if (!raw || raw.length === 0) return undefined;
  const text = utf8String(raw, where);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ProtobufError(`${where}: ${kind} does not hold valid JSON: ${(e as Error).message}`);
  }
}
