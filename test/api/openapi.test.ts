import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildOpenAPI,
  contentHash,
  convertSchema,
  encodeOpenAPIV2Protobuf,
  kindDescription,
  negotiateOpenAPIV2,
  openAPIV2,
  openAPIV3,
  openAPIV3Index,
  openAPIV3Path,
} from '../../src/api/openapi.js';
import { intOrString, quantity } from '../../src/apis/schema.js';
import { instance, pod, testRegistry } from './fixtures.js';

// `any`: assertions walk deep into JSON documents; typing every level would add nothing.
type Json = Record<string, any>;

const reg = testRegistry();

/** Every "$ref" in a document, so we can check they all resolve. */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => refs(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === '$ref' ? out.push(x as string) : refs(x, out);
  return out;
}

/** kubectl's QueryParamVerifierV3: the first PATCH with the GVK decides, by its own parameters. */
function supportsFieldValidation(doc: Json, gvk: { group: string; version: string; kind: string }): boolean {
  for (const item of Object.values(doc.paths as Json)) {
    const op = item.patch;
    if (!op) continue;
    const g = op['x-kubernetes-group-version-kind'];
    if (!g || g.group !== gvk.group || g.version !== gvk.version || g.kind !== gvk.kind) continue;
    return (op.parameters ?? []).some((p: Json) => p.name === 'fieldValidation');
  }
  return false;
}

/** kubectl explain (v3 template): GVK from an operation on the resource path, then the schema listing that exact GVK. */
function explainLookup(doc: Json, group: string, version: string, resource: string): Json | undefined {
  const prefix = group ? `/apis/${group}` : '/api';
  const candidates = [`${prefix}/${version}/${resource}`, `${prefix}/${version}/${resource}/{name}`, `${prefix}/${version}/namespaces/{namespace}/${resource}`, `${prefix}/${version}/namespaces/{namespace}/${resource}/{name}`];
  let gvk: Json | undefined;
  for (const p of candidates) for (const m of ['get', 'post', 'put', 'patch', 'delete']) gvk ??= doc.paths[p]?.[m]?.['x-kubernetes-group-version-kind'];
  if (!gvk) return undefined;
  return Object.values(doc.components.schemas as Json).find((s: Json) => (s['x-kubernetes-group-version-kind'] ?? []).some((x: Json) => JSON.stringify(x) === JSON.stringify(gvk)));
}

describe('schema conversion', () => {
  it('rewrites refs per format and keeps extensions', () => {
    const s = { type: 'array' as const, items: { $ref: 'a.B' }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-list-type': 'map' as const };
    assert.deepEqual(convertSchema(s, 'v2'), { type: 'array', items: { $ref: '#/definitions/a.B' }, 'x-kubernetes-patch-merge-key': 'name', 'x-kubernetes-list-type': 'map' });
    assert.deepEqual(convertSchema(s, 'v3').items, { $ref: '#/components/schemas/a.B' });
  });

  it('publishes int-or-string like Kubernetes does', () => {
    assert.deepEqual(convertSchema(intOrString('Port.'), 'v2'), { type: 'string', format: 'int-or-string', description: 'Port.', 'x-kubernetes-int-or-string': true });
    assert.deepEqual(convertSchema(intOrString('Port.'), 'v3'), { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString', description: 'Port.' });
    assert.deepEqual(convertSchema(quantity('Mem.'), 'v3'), { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity', description: 'Mem.' });
    assert.equal(convertSchema(quantity('Mem.'), 'v2').type, 'string');
  });
});

describe('/openapi/v2', () => {
  const doc = openAPIV2(reg) as Json;

  it('is Swagger 2.0 with every definition and GVKs on kinds and lists', () => {
    assert.equal(doc.swagger, '2.0');
    for (const name of Object.keys(reg.definitions)) assert.ok(doc.definitions[name], name);
    assert.deepEqual(doc.definitions['io.k8s.api.core.v1.Pod']['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Pod', version: 'v1' }]);
    assert.deepEqual(doc.definitions['io.k8s.api.core.v1.PodList']['x-kubernetes-group-version-kind'], [{ group: '', kind: 'PodList', version: 'v1' }]);
    assert.equal(doc.definitions['io.k8s.api.core.v1.PodList'].properties.items.items.$ref, '#/definitions/io.k8s.api.core.v1.Pod');
    assert.equal(doc.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers['x-kubernetes-patch-merge-key'], 'name');
    assert.equal(doc.definitions['io.k8s.api.core.v1.Container'].properties.port.format, 'int-or-string');
    for (const r of refs(doc)) assert.ok(doc.definitions[r.replace('#/definitions/', '')], `unresolved ${r}`);
  });

  it('has operations per resource with Kubernetes extensions', () => {
    const item = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
    assert.deepEqual(Object.keys(item).sort(), ['delete', 'get', 'parameters', 'patch', 'put']);
    assert.equal(item.patch['x-kubernetes-action'], 'patch');
    assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: '', kind: 'Pod', version: 'v1' });
    assert.ok(item.patch.consumes.includes('application/strategic-merge-patch+json'));
    assert.ok(item.patch.parameters.some((p: Json) => p.name === 'fieldValidation' && p.in === 'query'));
    assert.ok(item.patch.parameters.some((p: Json) => p.name === 'body' && p.in === 'body'));
    assert.equal(doc.paths['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
    assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods'].delete['x-kubernetes-action'], 'deletecollection');
    assert.ok(doc.paths['/api/v1/nodes/{name}/status']);
    assert.equal(doc.paths['/api/v1/namespaces/{namespace}/nodes'], undefined);
    assert.equal(doc.paths['/apis/lodge.dev/v1alpha1/namespaces/{namespace}/instances/{name}'].patch.operationId, 'patchLodgeDevV1alpha1NamespacedInstance');
    assert.equal(doc.paths['/apis/lodge.dev/v1alpha1/namespaces/{namespace}/instances/{name}'].patch.consumes.includes('application/strategic-merge-patch+json'), false);
  });
});

describe('/openapi/v3', () => {
  it('indexes every group version with a hash of its document', () => {
    const bundle = buildOpenAPI(reg);
    assert.deepEqual([...bundle.v3.keys()].sort(), ['api/v1', 'apis/apps/v1', 'apis/lodge.dev/v1alpha1']);
    const index = bundle.v3Index.doc as Json;
    for (const [key, served] of bundle.v3) {
      assert.equal(index.paths[key].serverRelativeURL, `/openapi/v3/${key}?hash=${served.hash}`);
      assert.equal(served.hash, contentHash(served.json));
      assert.match(served.hash, /^[0-9A-F]{128}$/);
    }
    assert.deepEqual(openAPIV3Index(reg), index);
    assert.equal(buildOpenAPI(testRegistry()).v3.get('api/v1')?.hash, bundle.v3.get('api/v1')?.hash, 'hash is stable');
    assert.equal(openAPIV3Path('', 'v1'), 'api/v1');
  });

  it('holds only the schemas its group version reaches, all resolvable', () => {
    const doc = openAPIV3(reg, '', 'v1') as Json;
    assert.equal(doc.openapi, '3.0.0');
    const schemas = doc.components.schemas as Json;
    assert.ok(schemas['io.k8s.api.core.v1.Pod']);
    assert.ok(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
    assert.ok(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.Status']);
    assert.equal(schemas['io.k8s.api.apps.v1.Deployment'], undefined);
    assert.deepEqual(schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'].oneOf, [{ type: 'integer' }, { type: 'string' }]);
    for (const r of refs(doc)) assert.ok(schemas[r.replace('#/components/schemas/', '')], `unresolved ${r}`);
    assert.equal(openAPIV3(reg, 'apps', 'v2'), undefined);
  });

  it('advertises fieldValidation the way kubectl checks for it', () => {
    assert.equal(supportsFieldValidation(openAPIV3(reg, '', 'v1') as Json, { group: '', version: 'v1', kind: 'Pod' }), true);
    assert.equal(supportsFieldValidation(openAPIV3(reg, '', 'v1') as Json, { group: '', version: 'v1', kind: 'Node' }), true);
    assert.equal(supportsFieldValidation(openAPIV3(reg, 'lodge.dev', 'v1alpha1') as Json, { group: 'lodge.dev', version: 'v1alpha1', kind: 'Instance' }), true);
    const doc = openAPIV3(reg, '', 'v1') as Json;
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      if (!item.patch) continue;
      const names = item.patch.parameters.map((p: Json) => p.name);
      for (const n of ['dryRun', 'fieldManager', 'fieldValidation', 'force']) assert.ok(names.includes(n), `${path} patch lacks ${n}`);
      assert.deepEqual(Object.keys(item.patch.requestBody.content).sort(), [
        'application/apply-patch+yaml',
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
      ]);
    }
  });

  it('lets kubectl explain find kinds and their descriptions', () => {
    const core = openAPIV3(reg, '', 'v1') as Json;
    const podSchema = explainLookup(core, '', 'v1', 'pods');
    assert.equal(podSchema?.description, 'Pod is a collection of containers that run on a host.');
    assert.equal(podSchema?.properties.spec.$ref, '#/components/schemas/io.k8s.api.core.v1.PodSpec');
    assert.ok(podSchema?.properties.apiVersion.description);
    assert.ok(explainLookup(core, '', 'v1', 'nodes'));
    const lodge = openAPIV3(reg, 'lodge.dev', 'v1alpha1') as Json;
    const inst = explainLookup(lodge, 'lodge.dev', 'v1alpha1', 'instances');
    assert.equal(inst?.description, kindDescription(reg, instance));
    assert.match(inst?.description, /Instance/);
    assert.equal(inst?.properties.kind.type, 'string', 'apiVersion and kind are documented even when the kind omits them');
    assert.equal(kindDescription(reg, pod), 'Pod is a collection of containers that run on a host.');
  });

  it('describes operations with actions, query parameters and bodies', () => {
    const doc = openAPIV3(reg, 'apps', 'v1') as Json;
    const coll = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments'];
    assert.equal(coll.get['x-kubernetes-action'], 'list');
    assert.ok(coll.get.parameters.some((p: Json) => p.name === 'watch' && p.schema.type === 'boolean'));
    assert.ok(coll.post.parameters.some((p: Json) => p.name === 'fieldValidation'));
    assert.equal(coll.post.requestBody.content['application/json'].schema.$ref, '#/components/schemas/io.k8s.api.apps.v1.Deployment');
    assert.equal(coll.get.responses['200'].content['application/json'].schema.$ref, '#/components/schemas/io.k8s.api.apps.v1.DeploymentList');
    assert.deepEqual(coll.parameters.map((p: Json) => p.name), ['namespace', 'pretty']);
    assert.equal(doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status'].put['x-kubernetes-action'], 'put');
  });
});

/** A minimal protobuf reader: field number -> raw values (Buffers for length-delimited). */
function decode(buf: Buffer): Map<number, Array<Buffer | bigint>> {
  const out = new Map<number, Array<Buffer | bigint>>();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    let val: Buffer | bigint;
    switch (key & 7) {
      case 0: val = varint(); break;
      case 1: val = buf.subarray(i, (i += 8)); break;
      case 2: { const n = Number(varint()); val = buf.subarray(i, (i += n)); break; }
      default: throw new Error(`wire type ${key & 7}`);
    }
    out.set(field, [...(out.get(field) ?? []), val]);
  }
  return out;
}
const str = (m: Map<number, Array<Buffer | bigint>>, f: number): string | undefined => (m.get(f)?.[0] as Buffer | undefined)?.toString('utf8');

describe('/openapi/v2 protobuf', () => {
  it('negotiates like the apiserver', () => {
    assert.equal(negotiateOpenAPIV2('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'), 'protobuf');
    assert.equal(negotiateOpenAPIV2('application/com.github.proto-openapi.spec.v2.v1.0+protobuf'), 'protobuf');
    assert.equal(negotiateOpenAPIV2('application/json, */*'), 'json');
    assert.equal(negotiateOpenAPIV2(undefined), 'json');
    assert.equal(negotiateOpenAPIV2('text/html'), undefined);
  });

  it('encodes gnostic openapi_v2.Document', () => {
    const json = openAPIV2(reg) as Json;
    const doc = decode(encodeOpenAPIV2Protobuf(json));
    assert.equal(str(doc, 1), '2.0');
    assert.equal(str(decode(doc.get(2)?.[0] as Buffer), 1), 'Kubernetes');
    const defs = decode(doc.get(9)?.[0] as Buffer).get(1) as Buffer[];
    assert.equal(defs.length, Object.keys(json.definitions).length);
    const podEntry = defs.map((d) => decode(d)).find((d) => str(d, 1) === 'io.k8s.api.core.v1.Pod');
    const podSchema = decode(podEntry?.get(2)?.[0] as Buffer);
    assert.equal(str(podSchema, 4), 'Pod is a collection of containers that run on a host.');
    assert.deepEqual(decode(podSchema.get(22)?.[0] as Buffer).get(1)?.map(String), ['object']);
    const ext = (podSchema.get(31) as Buffer[]).map((e) => decode(e)).find((e) => str(e, 1) === 'x-kubernetes-group-version-kind');
    const yaml = str(decode(ext?.get(2)?.[0] as Buffer), 2);
    assert.deepEqual(JSON.parse(yaml as string), [{ group: '', kind: 'Pod', version: 'v1' }]);
    const paths = decode(doc.get(8)?.[0] as Buffer).get(2) as Buffer[];
    assert.equal(paths.length, Object.keys(json.paths).length);
    assert.deepEqual(buildOpenAPI(reg).v2Protobuf, encodeOpenAPIV2Protobuf(json), 'deterministic');
  });
});
