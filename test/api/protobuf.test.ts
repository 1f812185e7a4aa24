// Kubernetes protobuf request bodies → JSON objects (src/api/protobuf).
// Hand-encoded messages with a tiny writer, then bodies kubectl 1.33 really
// sent (captured from `kubectl create ...` against a capture server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeKubernetesProtobuf, coveredDefinitions } from '../../src/api/protobuf/index.js';
import { messageInfo } from '../../src/api/protobuf/tables.js';
import { registry } from '../../src/apis/registry.js';
import type { Schema } from '../../src/apis/schema.js';

// --- a tiny protobuf writer -------------------------------------------------
type Bytes = number[];
function varint(n: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(n)); // negative numbers: 10-byte two's complement, as Go writes int32/int64
  const out: Bytes = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const tag = (num: number, wire: number): Bytes => varint(num * 8 + wire);
const bytes = (num: number, b: Bytes | Uint8Array): Bytes => [...tag(num, 2), ...varint(b.length), ...b];
const str = (num: number, s: string): Bytes => bytes(num, [...Buffer.from(s, 'utf8')]);
const int = (num: number, v: number | bigint): Bytes => [...tag(num, 0), ...varint(v)];
const bool = (num: number, v: boolean): Bytes => int(num, v ? 1 : 0);
const msg = (num: number, ...fields: Bytes[]): Bytes => bytes(num, fields.flat());
const entry = (num: number, key: string, value: string): Bytes => msg(num, str(1, key), str(2, value));
const packed = (num: number, values: number[]): Bytes => bytes(num, values.flatMap((v) => varint(v)));
const time = (num: number, seconds: number, nanos = 0): Bytes => msg(num, int(1, seconds), int(2, nanos));
const intStr = (num: number, v: number | string): Bytes =>
  typeof v === 'number' ? msg(num, int(1, 0), int(2, v), str(3, '')) : msg(num, int(1, 1), int(2, 0), str(3, v));
const quantity = (num: number, q: string): Bytes => msg(num, str(1, q));

/** The body kubectl sends: magic, then runtime.Unknown{typeMeta, raw, contentEncoding, contentType}. */
function envelope(apiVersion: string, kind: string, raw: Bytes, extra: Bytes = []): Buffer {
  return Buffer.from([0x6b, 0x38, 0x73, 0x00, ...msg(1, str(1, apiVersion), str(2, kind)), ...bytes(2, raw), ...str(3, ''), ...str(4, ''), ...extra]);
}
/** ObjectMeta as Go writes it: every non-pointer scalar present even when empty, creationTimestamp an empty message. */
const meta = (name: string, ...more: Bytes[]): Bytes =>
  msg(1, str(1, name), str(2, ''), str(3, ''), str(4, ''), str(5, ''), str(6, ''), int(7, 0), bytes(8, []), ...more);

const reg = registry();
const decode = (body: Buffer, notes?: string[]): Record<string, unknown> => decodeKubernetesProtobuf(body, reg, notes);

describe('protobuf bodies: hand-encoded', () => {
  it('decodes a Namespace with labels, dropping the zero values Go writes anyway', () => {
    const body = envelope('v1', 'Namespace', [
      ...meta('demo', entry(11, 'team', 'a'), entry(11, 'env', 'prod'), entry(12, 'note', ''), str(14, 'example.com/f')),
      ...msg(2, str(1, 'kubernetes')),
      ...msg(3, str(1, '')),
    ]);
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'demo', labels: { team: 'a', env: 'prod' }, annotations: { note: '' }, finalizers: ['example.com/f'] },
      spec: { finalizers: ['kubernetes'] },
      status: {},
    });
  });

  it('decodes a ConfigMap: data, binaryData as base64, immutable=false kept (a pointer)', () => {
    const body = envelope('v1', 'ConfigMap', [...meta('cm'), ...entry(2, 'a', '1'), ...entry(2, 'b', 'two'), ...msg(3, str(1, 'bin'), bytes(2, [0, 255, 1])), ...bool(4, false)]);
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm' },
      data: { a: '1', b: 'two' },
      binaryData: { bin: 'AP8B' },
      immutable: false,
    });
  });

  it('decodes a Secret: data bytes → base64 (any bytes), type', () => {
    const body = envelope('v1', 'Secret', [
      ...meta('s'),
      ...msg(2, str(1, 'password'), str(2, 'p@ss')),
      ...msg(2, str(1, 'raw'), bytes(2, [0xde, 0xad, 0xbe, 0xef])),
      ...str(3, 'Opaque'),
    ]);
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { password: Buffer.from('p@ss').toString('base64'), raw: '3q2+7w==' },
      type: 'Opaque',
    });
  });

  it('decodes a Deployment: pointer zeros kept, non-pointer zeros dropped, IntOrString, quantities', () => {
    const container = msg(
      2,
      str(1, 'web'),
      str(2, 'nginx:1.27'),
      str(3, 'sh'),
      str(3, '-c'),
      str(4, 'sleep 1'),
      str(5, ''), // workingDir: "" → omitted
      msg(6, str(1, 'http'), int(2, 0), int(3, 8080), str(4, ''), str(5, '')), // hostPort 0 and protocol "" dropped; containerPort kept
      msg(8, msg(1, str(1, 'cpu'), quantity(2, '250m')), msg(1, str(1, 'memory'), quantity(2, '64Mi')), msg(2, str(1, 'cpu'), quantity(2, '500m'))),
      str(13, ''), // terminationMessagePath
      str(14, ''), // imagePullPolicy
      bool(16, false), // stdin: omitempty → dropped
    );
    const podSpec = msg(2, container, str(3, ''), str(6, ''));
    const template = msg(3, meta('', msg(11, str(1, 'app'), str(2, 'web'))), podSpec);
    const spec = msg(
      2,
      int(1, 0), // replicas is *int32: 0 on the wire means the client asked for 0
      msg(2, entry(1, 'app', 'web'), msg(2, str(1, 'tier'), str(2, 'In'), str(3, 'a'), str(3, 'b'))),
      template,
      msg(4, str(1, 'RollingUpdate'), msg(2, intStr(1, '25%'), intStr(2, 0))),
      int(5, 0), // minReadySeconds: int32 omitempty → dropped
      int(6, 0), // revisionHistoryLimit: *int32 → kept
      bool(7, false), // paused → dropped
    );
    const body = envelope('apps/v1', 'Deployment', [...meta('web'), ...spec, ...msg(3)]);
    assert.deepEqual(decode(body), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nginx:1.27',
                command: ['sh', '-c'],
                args: ['sleep 1'],
                ports: [{ name: 'http', containerPort: 8080 }],
                resources: { limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '500m' } },
              },
            ],
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 0 } },
        revisionHistoryLimit: 0,
      },
      status: {},
    });
  });

  it('decodes a Service: ports with int and named targetPort, selector, type, pointer booleans', () => {
    const body = envelope('v1', 'Service', [
      ...meta('s'),
      ...msg(
        2,
        msg(1, str(1, 'http'), str(2, 'TCP'), int(3, 80), intStr(4, 8080), int(5, 0)),
        msg(1, str(1, 'https'), str(2, ''), int(3, 443), intStr(4, 'https'), int(5, 30443)),
        entry(2, 'app', 'web'),
        str(3, ''),
        str(4, 'NodePort'),
        str(7, ''),
        str(18, '10.0.0.10'),
        bool(13, false), // publishNotReadyAddresses: plain bool → dropped
        bool(20, false), // allocateLoadBalancerNodePorts: *bool → kept
        msg(14, msg(1, int(1, 0))), // sessionAffinityConfig.clientIP.timeoutSeconds: *int32 → kept
      ),
      ...msg(3, msg(1)),
    ]);
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'https', port: 443, targetPort: 'https', nodePort: 30443 },
        ],
        selector: { app: 'web' },
        type: 'NodePort',
        clusterIPs: ['10.0.0.10'],
        allocateLoadBalancerNodePorts: false,
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } },
      },
      status: { loadBalancer: {} },
    });
  });

  it('decodes Time (seconds, nanos dropped) and MicroTime (microseconds); zero times are left out', () => {
    const lease = envelope('coordination.k8s.io/v1', 'Lease', [
      ...meta('l'),
      ...msg(2, str(1, 'node-a'), int(2, 15), time(3, 1767225600, 123456789), time(4, 1767225601), int(5, 0)),
    ]);
    assert.deepEqual(decode(lease), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'l' },
      spec: { holderIdentity: 'node-a', leaseDurationSeconds: 15, acquireTime: '2026-01-01T00:00:00.123456Z', renewTime: '2026-01-01T00:00:01.000000Z', leaseTransitions: 0 },
    });
    const event = envelope('v1', 'Event', [
      ...msg(1, str(1, 'e1'), time(8, -62135596800)), // Go's zero time written out: still "unset"
      ...msg(2, str(1, 'Pod'), str(2, 'default'), str(3, 'p'), str(4, ''), str(5, 'v1'), str(6, ''), str(7, '')),
      ...str(3, 'Started'),
      ...time(6, 1767225600, 999_999_999),
      ...bytes(7, []), // lastTimestamp: empty message = zero time
      ...int(8, 3),
      ...time(10, 1767225600, 5000),
      ...str(14, ''), // reportingComponent: no omitempty in Go → kept
    ]);
    assert.deepEqual(decode(event), {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e1' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'p', apiVersion: 'v1' },
      reason: 'Started',
      firstTimestamp: '2026-01-01T00:00:00Z',
      count: 3,
      eventTime: '2026-01-01T00:00:00.000005Z',
      reportingComponent: '',
    });
  });

  it('decodes ObjectMeta in full: owner references, managedFields (FieldsV1 → JSON), deletionGracePeriodSeconds 0', () => {
    const body = envelope('v1', 'ConfigMap', [
      ...meta(
        'cm',
        int(10, 0),
        msg(13, str(1, 'Deployment'), str(3, 'web'), str(4, 'u-1'), str(5, 'apps/v1'), bool(6, true), bool(7, false)),
        msg(17, str(1, 'kubectl'), str(2, 'Apply'), str(3, 'v1'), time(4, 1767225600), str(6, 'FieldsV1'), msg(7, str(1, '{"f:data":{"f:a":{}}}')), str(8, '')),
        str(5, 'abc-123'),
        int(7, 4),
        time(8, 1767225600),
      ),
    ]);
    assert.deepEqual(decode(body).metadata, {
      name: 'cm',
      deletionGracePeriodSeconds: 0,
      ownerReferences: [{ kind: 'Deployment', name: 'web', uid: 'u-1', apiVersion: 'apps/v1', controller: true, blockOwnerDeletion: false }],
      managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } }],
      uid: 'abc-123',
      generation: 4,
      creationTimestamp: '2026-01-01T00:00:00Z',
    });
  });

  it('decodes a Pod: embedded structs (VolumeSource, LocalObjectReference, ProbeHandler), packed and unpacked int64 lists, negative ints', () => {
    const body = envelope('v1', 'Pod', [
      ...meta('p'),
      ...msg(
        2,
        // volumes[0]: Volume{name=1, VolumeSource=2{configMap=19{LocalObjectReference=1{name}, defaultMode, optional}}}
        msg(1, str(1, 'cfg'), msg(2, msg(19, msg(1, str(1, 'cm')), msg(2, str(1, 'k'), str(2, 'k.txt')), int(3, 0), bool(4, false)))),
        msg(1, str(1, 'scratch'), msg(2, msg(2, str(1, ''), quantity(2, '1Gi')))),
        msg(
          2,
          str(1, 'c'),
          str(2, 'busybox'),
          // env: valueFrom.secretKeyRef embeds LocalObjectReference{name} at field 1
          msg(7, str(1, 'PW'), str(2, ''), msg(3, msg(4, msg(1, str(1, 'db')), str(2, 'password')))),
          // livenessProbe: Probe{ProbeHandler=1{httpGet=2{path, port}}, initialDelaySeconds 0 dropped, periodSeconds}
          msg(10, msg(1, msg(2, str(1, '/healthz'), intStr(2, 'http'), str(4, ''))), int(2, 0), int(4, 5)),
          msg(15, bool(2, false), bool(16, false)), // securityContext.privileged: *bool → kept; then stdin (plain bool) → dropped
        ),
        int(4, 0), // terminationGracePeriodSeconds: *int64 0 → kept
        bool(21, false), // automountServiceAccountToken: *bool → kept
        int(25, -5), // priority: negative int32, 10-byte varint
        msg(14, int(2, 0), packed(4, [1, 2]), int(4, 3_000_000_000), int(5, 2000)), // runAsUser 0 kept; supplementalGroups packed then unpacked
      ),
    ]);
    const spec = decode(body).spec as Record<string, unknown>;
    assert.deepEqual(spec.volumes, [
      { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'k', path: 'k.txt' }], defaultMode: 0, optional: false } },
      { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } },
    ]);
    const c = (spec.containers as Record<string, unknown>[])[0];
    assert.deepEqual(c.env, [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }]);
    assert.deepEqual(c.livenessProbe, { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 });
    assert.deepEqual(c.securityContext, { privileged: false });
    assert.deepEqual(spec.securityContext, { runAsUser: 0, supplementalGroups: [1, 2, 3_000_000_000], fsGroup: 2000 });
    assert.equal(spec.terminationGracePeriodSeconds, 0);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.priority, -5);
  });

  it('skips unknown field numbers and reports them; notes precision loss past 2^53', () => {
    const notes: string[] = [];
    const body = envelope('v1', 'Namespace', [...meta('n', int(999, 1), int(7, 2n ** 60n + 1n)), ...msg(2, str(77, 'x'))]);
    const obj = decode(body, notes);
    assert.deepEqual(obj, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', generation: 2 ** 60 }, spec: {} });
    assert.equal(notes.length, 3, notes.join('\n'));
    assert.match(notes[0], /metadata: unknown field number 999 of io\.k8s\.apimachinery\.pkg\.apis\.meta\.v1\.ObjectMeta/);
    assert.match(notes[1], /metadata\.generation: 1152921504606846977 exceeds/);
    assert.match(notes[2], /spec: unknown field number 77/);
  });

  it('merges a message field that appears twice, and lets the last scalar win', () => {
    const body = envelope('v1', 'Namespace', [...msg(1, str(1, 'a'), entry(11, 'x', '1')), ...msg(1, str(1, 'b'), entry(11, 'y', '2'))]);
    assert.deepEqual(decode(body).metadata, { name: 'b', labels: { x: '1', y: '2' } });
  });
});

describe('protobuf bodies: errors', () => {
  const ns = (raw: Bytes): Buffer => envelope('v1', 'Namespace', raw);
  const fails = (body: Buffer, re: RegExp): void => assert.throws(() => decode(body), re);

  it('rejects bodies without the magic or with a broken envelope', () => {
    fails(Buffer.from('{"kind":"Namespace"}'), /magic/);
    fails(Buffer.from([0x6b, 0x38, 0x73]), /magic/);
    fails(Buffer.from([0x6b, 0x38, 0x73, 0x00, ...bytes(2, [])]), /no apiVersion and kind/);
    fails(Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x20, 0x0a]), /runs past the end/);
    fails(envelope('v1', 'Namespace', [], str(3, 'gzip')), /content encoding "gzip"/);
  });

  it('rejects kinds that are not served or have no protobuf form', () => {
    fails(envelope('policy/v1', 'Eviction', []), /kind Eviction of policy\/v1 is not served/);
    fails(envelope('lodge.dev/v1alpha1', 'Instance', []), /Instance \(lodge\.dev\/v1alpha1\) has no protobuf encoding here; send it as application\/json/);
  });

  it('rejects truncated and mistyped fields with the path of the field', () => {
    const good = ns([...meta('n')]);
    fails(good.subarray(0, good.length - 3), /runs past the end|truncated/);
    fails(ns([...int(1, 5)]), /metadata: wire type 0, expected length-delimited/);
    fails(ns([...msg(1, int(1, 1))]), /metadata\.name: wire type 0, expected length-delimited/);
    fails(ns([...msg(1, str(7, 'x'))]), /metadata\.generation: wire type 2, expected a varint/);
    fails(ns([...msg(1, bytes(1, [0xff, 0xfe]))]), /metadata\.name: string is not valid UTF-8/);
    fails(ns([...msg(1, [0x78, 0x80, 0x80])]), /truncated varint/);
    fails(ns([...msg(1, msg(17, msg(7, str(1, '{not json'))))]), /metadata\.managedFields\[0\]\.fieldsV1: FieldsV1 does not hold valid JSON/);
    fails(ns([...msg(1, time(8, 1e15))]), /metadata\.creationTimestamp: time .* outside years/);
    fails(ns([...msg(1, [0x0b])]), /groups/);
  });
});

// Bodies kubectl 1.33 sent to a capture server (`-v=9` only shows them as
// text), and the JSON `kubectl create ... --dry-run=client -o json` prints for
// the same command (nulls removed): the decoder must reproduce the latter.
const captured: Array<{ command: string; hex: string; json: unknown }> = [
  {
    command: 'kubectl create namespace demo',
    hex: '6b3873000a0f0a02763112094e616d657370616365121c0a140a0464656d6f12001a0022002a0032003800420012001a020a001a002200',
    json: { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'demo' }, spec: {}, status: {} },
  },
  {
    command: 'kubectl create configmap cm1 --from-literal=a=1 --from-literal=b=two',
    hex: '6b3873000a0f0a0276311209436f6e6669674d617012270a130a03636d3112001a0022002a0032003800420012060a016112013112080a0162120374776f1a002200',
    json: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'cm1' }, data: { a: '1', b: 'two' } },
  },
  {
    command: "kubectl create secret generic s1 --from-literal=user=admin --from-literal=pw='p@ss'",
    hex: '6b3873000a0c0a027631120653656372657412310a120a02733112001a0022002a00320038004200120a0a027077120470407373120d0a0475736572120561646d696e1a001a002200',
    json: { kind: 'Secret', apiVersion: 'v1', metadata: { name: 's1' }, data: { pw: 'cEBzcw==', user: 'YWRtaW4=' } },
  },
  {
    command: 'kubectl create deployment web --image=busybox --replicas=2 --port=80',
    hex:
      '6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bc010a1f0a0377656212001a0022002a003200380042005a0a0a036170701203776562128a01' +
      '0802120c0a0a0a0361707012037765621a700a1c0a0012001a0022002a003200380042005a0a0a036170701203776562125012320a0762757379626f7812076275' +
      '7379626f782a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c20100' +
      '22020a00280038001a0c0800100018002000280038001a002200',
    json: {
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'busybox', image: 'busybox', ports: [{ containerPort: 80 }], resources: {} }] } },
        strategy: {},
      },
      status: {},
    },
  },
  {
    command: 'kubectl create service clusterip s --tcp=80:8080',
    hex:
      '6b3873000a0d0a02763112075365727669636512630a1b0a017312001a0022002a003200380042005a080a0361707012017312400a1b0a0738302d38303830120354' +
      '435018502207080010903f1a00280012080a036170701201731a002209436c757374657249503a00420052005a00600068001a020a001a002200',
    json: {
      kind: 'Service',
      apiVersion: 'v1',
      metadata: { name: 's', labels: { app: 's' } },
      spec: { ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }], selector: { app: 's' }, type: 'ClusterIP' },
      status: { loadBalancer: {} },
    },
  },
];

// `kubectl debug richb --copy-to=copy --image=busybox -c dbg` (with the
// --keep-* probe flags) POSTs a copy of a Pod that sets many pointer and
// embedded fields: a real Go encoding of a rich PodSpec.
const copiedPodHex = [
  '6b3873000a090a0276311203506f6412e80b0a320a04636f707912001a0764656661756c7422002a0032003800420062090a05656d7074791200620a0a046e6f',
  '746512026869129c0b0a1b0a056361636865121212100a064d656d6f727912060a0436344d690a230a03636667121c9a01190a040a02636d120d0a0161120561',
  '2e747874188002180020000a0f0a03736563120832060a01731880030a590a0470726f6a1251d2014e0a11220f0a0361706910d8041a05746f6b656e0a231221',
  '0a1f0a066c6162656c7312150a027631120f6d657461646174612e6c6162656c730a111a0f0a050a03636d3212060a016212016210a4030a160a04686f737412',
  '0e0a0c0a082f7661722f6c6f6712000a130a05636c61696d120a52080a046461746110010a1d0a066c656761637912131a110a056469736b3112046578743418',
  '00200112e4040a046d61696e120a6e67696e783a312e323722032d2d7822002a022f7732110a04687474701000185022035443502a0032170a0010e929183522',
  '035544502a093132372e302e302e313a0a0a05504c41494e1201763a090a05454d50545912003a250a0a46524f4d5f4649454c4412001a150a130a027631120d',
  '6d657461646174612e6e616d653a1a0a0746524f4d5f434d12001a0d1a0b0a040a02636d12016b18003a1b0a0b46524f4d5f53454352455412001a0a22080a03',
  '0a017312016b3a2c0a0846524f4d5f52455312001a1e121c0a046d61696e120d6c696d6974732e6d656d6f72791a050a03314d6942400a0a0a0363707512030a',
  '01310a110a066d656d6f727912070a053132384d69120d0a0363707512060a043130306d12100a066d656d6f727912060a0436344d694a150a05636163686510',
  '001a062f6361636865220032004a120a0363666710011a042f636667220178320052340a2812260a082f6865616c74687a120a080110001a04687474701a0022',
  '04485454502a060a0158120131100018012005280130035a180a0c1a0a0a06080010501a00120010001802200a2801300362140a0c0a0a0a046563686f0a0268',
  '691204220208056a142f6465762f7465726d696e6174696f6e2d6c6f67720c49664e6f7450726573656e747a1d0a100a094e45545f41444d494e1203414c4c10',
  '0020e8073001380040008001018801009001019a010d0a03434d5f12060a040a02636d9a010b0a001a070a030a01731001a2011546616c6c6261636b546f4c6f',
  '67734f6e4572726f72b2011e0a100a0e0a036361740a072f746d702f6f6b10001801200a2801301e380112260a03646267120762757379626f782a0042006a00',
  '7200800100880100900100a2010446696c651a06416c77617973200028901c32044e6f6e653a0b0a046469736b120373736442004a005200580060006800723f',
  '10001800200120022080bcc1960b28d00f3a1a0a126e65742e636f72652e736f6d6178636f6e6e12043130323452100a0e52756e74696d6544656661756c7482',
  '0101688a01037375629201690a290a140a120a100a047a6f6e651202496e1a01611a016212110805120d0a0b0a017412064578697374731a3c123a086412360a',
  '1c0a0b0a03617070120472696368120d0a017812054e6f74496e1a01311a166b756265726e657465732e696f2f686f73746e616d659a011164656661756c742d',
  '7363686564756c6572a201580a04696e6974120762757379626f781a0273681a022d631a04747275652a0042006a142f6465762f7465726d696e6174696f6e2d',
  '6c6f677206416c77617973800100880100900100a2010446696c65c20106416c77617973a80100b2011a0a016b1205457175616c1a017622094e6f4578656375',
  '74652800b2010e0a0012064578697374731a002200ba01140a0831302e302e302e311203666f6f1203626172c20100d201270a07312e312e312e311207612e6c',
  '6f63616c1a0a0a056e646f74731201321a070a0565646e7330e201130a116578616d706c652e636f6d2f7265616479f001008a0226080112047a6f6e651a0d44',
  '6f4e6f745363686564756c65220d0a0b0a03617070120472696368a202070a056c696e75781a130a001a0022002a0032004a005a0072008801001a002200',
].join('');

describe('protobuf bodies: captured from kubectl 1.33', () => {
  for (const c of captured) {
    it(c.command, () => {
      const notes: string[] = [];
      assert.deepEqual(decode(Buffer.from(c.hex, 'hex'), notes), c.json);
      assert.deepEqual(notes, []);
    });
  }

  it('kubectl debug --copy-to: a rich Pod', () => {
    const notes: string[] = [];
    // `any` only to walk deep into the decoded JSON; every value is then checked with deepEqual.
    const pod = decode(Buffer.from(copiedPodHex, 'hex'), notes) as { metadata: unknown; spec: Record<string, any>; status: unknown };
    assert.deepEqual(notes, []);
    assert.deepEqual(pod.metadata, { name: 'copy', namespace: 'default', annotations: { empty: '', note: 'hi' } });
    assert.deepEqual(pod.status, {});
    const s = pod.spec;
    // Pointers whose zero/false was set on purpose survive...
    assert.equal(s.terminationGracePeriodSeconds, 0);
    assert.equal(s.automountServiceAccountToken, false);
    assert.equal(s.enableServiceLinks, false);
    assert.deepEqual(s.securityContext, {
      runAsUser: 0,
      runAsNonRoot: false,
      supplementalGroups: [1, 2, 3000000000],
      fsGroup: 2000,
      sysctls: [{ name: 'net.core.somaxconn', value: '1024' }],
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(s.tolerations[0], { key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 0 });
    assert.deepEqual(s.tolerations[1], { operator: 'Exists' });
    // ...while omitempty zeros Go wrote anyway are gone, as in JSON.
    const main = s.containers[0];
    assert.deepEqual(main.env.slice(0, 2), [{ name: 'PLAIN', value: 'v' }, { name: 'EMPTY' }]);
    assert.deepEqual(main.env[3], { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: false } } });
    assert.deepEqual(main.env[5].valueFrom, { resourceFieldRef: { containerName: 'main', resource: 'limits.memory', divisor: '1Mi' } });
    // (The copied pod carries the server's defaults: scheme, thresholds, fieldRef.apiVersion...)
    assert.deepEqual(main.livenessProbe, {
      httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X', value: '1' }] },
      timeoutSeconds: 1,
      periodSeconds: 5,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.deepEqual(main.readinessProbe, { tcpSocket: { port: 80 }, timeoutSeconds: 2, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    assert.deepEqual(main.startupProbe, { exec: { command: ['cat', '/tmp/ok'] }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 30, terminationGracePeriodSeconds: 1 });
    assert.deepEqual(main.lifecycle, { postStart: { exec: { command: ['echo', 'hi'] } }, preStop: { sleep: { seconds: 5 } } });
    assert.deepEqual(main.resources, { limits: { cpu: '1', memory: '128Mi' }, requests: { cpu: '100m', memory: '64Mi' } });
    assert.deepEqual(main.ports, [
      { name: 'http', containerPort: 80, protocol: 'TCP' },
      { hostPort: 5353, containerPort: 53, protocol: 'UDP', hostIP: '127.0.0.1' },
    ]);
    assert.deepEqual(main.args, ['--x', '']);
    assert.deepEqual(main.securityContext, {
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      privileged: false,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsGroup: 0,
    });
    assert.deepEqual(s.containers[1], { name: 'dbg', image: 'busybox', resources: {}, terminationMessagePolicy: 'File' });
    assert.deepEqual(s.initContainers[0], {
      name: 'init',
      image: 'busybox',
      command: ['sh', '-c', 'true'],
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      imagePullPolicy: 'Always',
      terminationMessagePolicy: 'File',
      restartPolicy: 'Always',
    });
    const vol = (name: string): unknown => s.volumes.find((v: { name: string }) => v.name === name);
    assert.deepEqual(vol('cache'), { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } });
    assert.deepEqual(vol('cfg'), { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'a', path: 'a.txt', mode: 256 }], defaultMode: 0, optional: false } });
    assert.deepEqual(vol('host'), { name: 'host', hostPath: { path: '/var/log', type: '' } });
    assert.deepEqual(vol('claim'), { name: 'claim', persistentVolumeClaim: { claimName: 'data', readOnly: true } });
    // Lodge keeps gcePersistentDisk free-form; the decoder knows its message shape anyway.
    assert.deepEqual(vol('legacy'), { name: 'legacy', gcePersistentDisk: { pdName: 'disk1', fsType: 'ext4', readOnly: true } });
    assert.deepEqual(vol('proj'), {
      name: 'proj',
      projected: {
        sources: [
          { serviceAccountToken: { audience: 'api', expirationSeconds: 600, path: 'token' } },
          { downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }] } },
          { configMap: { name: 'cm2', items: [{ key: 'b', path: 'b' }] } },
        ],
        defaultMode: 420,
      },
    });
    assert.deepEqual(s.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution, [
      { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: { app: 'rich' }, matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['1'] }] }, topologyKey: 'kubernetes.io/hostname' } },
    ]);
    assert.deepEqual(s.dnsConfig, { nameservers: ['1.1.1.1'], searches: ['a.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] });
  });
});

describe('protobuf field tables', () => {
  const kinds = ['Namespace', 'ConfigMap', 'Secret', 'Service', 'Pod', 'Deployment', 'ReplicaSet', 'Endpoints', 'Event', 'Node', 'PersistentVolumeClaim', 'Lease', 'PodDisruptionBudget', 'PriorityClass'];

  /** JSON names a definition's table can fill, embedded structs included. */
  function tableNames(definition: string): Set<string> {
    const info = messageInfo(definition);
    const out = new Set<string>();
    for (const slot of info?.byNumber.values() ?? []) {
      if ('json' in slot) out.add(slot.json);
      else for (const n of tableNames(slot.embedded)) out.add(n);
    }
    return out;
  }

  it('give a field number to every field of every definition the kinds reach', () => {
    const seen = new Set<string>();
    const missing: string[] = [];
    const walk = (s: Schema | undefined): void => {
      if (!s) return;
      if (s.$ref) {
        if (seen.has(s.$ref)) return;
        seen.add(s.$ref);
        const def = reg.definitions[s.$ref];
        if (!messageInfo(s.$ref)) missing.push(`${s.$ref}: no table`);
        const names = tableNames(s.$ref);
        for (const [p, ps] of Object.entries(def.properties ?? {})) {
          if (p !== 'apiVersion' && p !== 'kind' && !names.has(p)) missing.push(`${s.$ref}.${p}: no field number`);
          walk(ps);
        }
        return;
      }
      walk(s.items);
      if (typeof s.additionalProperties === 'object') walk(s.additionalProperties);
    };
    for (const k of kinds) {
      const rt = reg.kinds.find((x) => x.kind === k);
      assert.ok(rt, k);
      walk({ $ref: rt.definition });
    }
    assert.deepEqual(missing, []);
    for (const d of seen) assert.ok(coveredDefinitions().includes(d), d);
  });
});
