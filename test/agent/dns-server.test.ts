// The cluster DNS server on loopback: a record index built from real
// Service, EndpointSlice, Pod and Instance objects (as the API stores them),
// asked over UDP and TCP with dns-packet as any resolver would, and a tiny
// upstream on 127.0.0.1 for what is not the cluster's. Nothing but loopback
// is contacted: the forwarder is only ever given the test's own upstream.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket, { type DecodedPacket, type Question, type RecordType } from 'dns-packet';
import type { KubeObject } from '../../src/apis/types.js';
import { resolveQuestion } from '../../src/agent/dns/cluster-resolver.js';
import { startDnsServer, type DnsServer } from '../../src/agent/dns/dns-server.js';
import { RecordIndex } from '../../src/agent/dns/record-index.js';
import { parseUpstream, UpstreamForwarder, type Upstream } from '../../src/agent/dns/upstream.js';
import { createLogger } from '../../src/util/log.js';
import { LoopbackDnsUpstream, UPSTREAM_ANSWER } from './loopback-dns-upstream.js';

const log = createLogger({ test: 'dns-server' }, 'silent');

// ---- the cluster, as objects -------------------------------------------------

const meta = (namespace: string, name: string, labels?: Record<string, string>): KubeObject['metadata'] => ({ namespace, name, uid: `${namespace}-${name}`, ...(labels ? { labels } : {}) });
const service = (ns: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: meta(ns, name), spec });
const slice = (ns: string, svc: string, endpoints: unknown[], ports: unknown[] = []): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: meta(ns, `${svc}-abcde`, { 'kubernetes.io/service-name': svc }),
  addressType: 'IPv4',
  endpoints,
  ports,
});
const pod = (ns: string, name: string, ip: string, phase = 'Running'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta(ns, name), spec: { containers: [] }, status: { phase, podIP: ip, podIPs: [{ ip }] } });
const instance = (ns: string, name: string, ip?: string): KubeObject => ({
  apiVersion: 'lodge.dev/v1alpha1',
  kind: 'Instance',
  metadata: meta(ns, name),
  spec: { type: 'container', image: 'busybox' },
  status: ip ? { phase: 'Running', ip, ips: [ip] } : { phase: 'Pending' },
});

const services = [
  service('shop', 'web', { type: 'ClusterIP', clusterIP: '10.96.4.20', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }, { protocol: 'TCP', port: 81 }] }),
  service('shop', 'db', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] }),
  service('shop', 'empty', { type: 'ClusterIP', clusterIP: 'None' }),
  service('shop', 'docs', { type: 'ExternalName', externalName: 'docs.example.test' }),
  service('kube-system', 'kube-dns', { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: [{ name: 'dns', protocol: 'UDP', port: 53 }, { name: 'dns-tcp', protocol: 'TCP', port: 53 }] }),
];
const slices = [
  slice(
    'shop',
    'db',
    [
      { addresses: ['10.244.1.5'], hostname: 'db-0', conditions: { ready: true } },
      { addresses: ['10.244.1.6'], conditions: { ready: true } },
      { addresses: ['10.244.1.7'], conditions: { ready: false } },
    ],
    [{ name: 'pg', protocol: 'TCP', port: 5432 }],
  ),
];
// 127.0.0.1 is a Pod of "shop": every query this test sends comes from it, so `<instance>.lodge` means shop's.
const pods = [pod('shop', 'asker', '127.0.0.1'), pod('shop', 'api', '10.244.1.9'), pod('shop', 'done', '10.244.1.30', 'Succeeded'), pod('other', 'x', '10.244.1.10')];
const instances = [instance('shop', 'vm1', '10.244.1.20'), instance('default', 'vm1', '10.244.1.21'), instance('shop', 'booting')];

// ---- a resolver's side ------------------------------------------------------------

let nextId = 1;
type Reply = DecodedPacket & { rcode?: string };

function query(name: string, type: RecordType, edns = false): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: nextId++,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    ...(edns ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}),
  });
}

function askUdp(port: number, name: string, type: RecordType = 'A', edns = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => (sock.close(), reject(new Error(`no UDP answer for ${name}`))), 5000);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(dnsPacket.decode(msg) as Reply);
    });
    sock.send(query(name, type, edns), port, '127.0.0.1');
  });
}

function askTcp(port: number, name: string, type: RecordType = 'A'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => (c.destroy(), reject(new Error(`no TCP answer for ${name}`))), 5000);
    c.on('error', reject);
    c.on('connect', () => c.write(dnsPacket.streamEncode({ type: 'query', id: nextId++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] })));
    c.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      clearTimeout(timer);
      c.destroy();
      resolve(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))) as Reply);
    });
  });
}

const data = (r: Reply, type = 'A'): unknown[] => (r.answers ?? []).filter((a) => a.type === type).map((a) => (a as { data: unknown }).data);
const sorted = (xs: unknown[]): unknown[] => [...xs].sort();

// ---- the tests ----------------------------------------------------------------------

let upstream: LoopbackDnsUpstream;
let server: DnsServer;
let upstreams: Upstream[] = [];

before(async () => {
  upstream = new LoopbackDnsUpstream();
  await upstream.start();
  upstreams = [{ host: '127.0.0.1', port: upstream.port }];
  const index = RecordIndex.build({ services: () => services, endpointSlices: () => slices, pods: () => pods, instances: () => instances }, 'cluster.local');
  server = await startDnsServer({
    host: '127.0.0.1',
    port: 0,
    resolve: (q: Question, asker: string) => resolveQuestion(index, q, asker),
    forwarder: new UpstreamForwarder(() => upstreams, 500),
    log,
  });
});

after(async () => {
  await server?.close();
  await upstream?.close();
});

describe('cluster names', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    const ask = (name: string, type?: RecordType): Promise<Reply> => (transport === 'udp' ? askUdp(server.port, name, type) : askTcp(server.port, name, type));

    test(`${transport}: a Service's name is its clusterIP, authoritative, with a short TTL`, async () => {
      const r = await ask('web.shop.svc.cluster.local');
      assert.equal(r.rcode, 'NOERROR');
      assert.equal(r.flag_aa, true);
      assert.deepEqual(data(r), ['10.96.4.20']);
      assert.equal((r.answers![0] as { ttl?: number }).ttl, 5);
      // Case does not matter, and the answer keeps the asker's spelling.
      const upper = await ask('WEB.Shop.svc.cluster.local.');
      assert.deepEqual(data(upper), ['10.96.4.20']);
      assert.equal(upper.answers![0]!.name, 'WEB.Shop.svc.cluster.local');
    });

    test(`${transport}: a headless Service is its ready endpoints; an endpoint with a hostname has a name of its own`, async () => {
      assert.deepEqual(sorted(data(await ask('db.shop.svc.cluster.local'))), ['10.244.1.5', '10.244.1.6']);
      assert.deepEqual(data(await ask('db-0.db.shop.svc.cluster.local')), ['10.244.1.5']);
      // Without a hostname, the dashed address names it (CoreDNS's convention).
      assert.deepEqual(data(await ask('10-244-1-6.db.shop.svc.cluster.local')), ['10.244.1.6']);
      // Not ready: not published.
      assert.equal((await ask('10-244-1-7.db.shop.svc.cluster.local')).rcode, 'NXDOMAIN');
      // A headless Service without endpoints exists, with no address.
      const empty = await ask('empty.shop.svc.cluster.local');
      assert.equal(empty.rcode, 'NOERROR');
      assert.deepEqual(empty.answers, []);
    });

    test(`${transport}: SRV for named ports, with the targets' addresses`, async () => {
      const r = await ask('_http._tcp.web.shop.svc.cluster.local', 'SRV');
      assert.deepEqual(data(r, 'SRV'), [{ priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' }]);
      assert.deepEqual(data({ answers: r.additionals } as Reply), ['10.96.4.20']);
      const h = await ask('_pg._tcp.db.shop.svc.cluster.local', 'SRV');
      assert.deepEqual(
        sorted((data(h, 'SRV') as Array<{ target: string; port: number }>).map((s) => `${s.target}:${s.port}`)),
        ['10-244-1-6.db.shop.svc.cluster.local:5432', 'db-0.db.shop.svc.cluster.local:5432'],
      );
      // An unnamed port has no SRV name; an unknown protocol neither.
      assert.equal((await ask('_81._tcp.web.shop.svc.cluster.local', 'SRV')).rcode, 'NXDOMAIN');
      assert.equal((await ask('_http._udp.web.shop.svc.cluster.local', 'SRV')).rcode, 'NXDOMAIN');
    });

    test(`${transport}: Pod names by address, only in the Pod's own namespace and while it runs`, async () => {
      assert.deepEqual(data(await ask('10-244-1-9.shop.pod.cluster.local')), ['10.244.1.9']);
      assert.equal((await ask('10-244-1-9.other.pod.cluster.local')).rcode, 'NXDOMAIN');
      assert.equal((await ask('10-244-1-30.shop.pod.cluster.local')).rcode, 'NXDOMAIN');
    });

    test(`${transport}: Instances by name.namespace.lodge, and by name.lodge in the asker's namespace`, async () => {
      assert.deepEqual(data(await ask('vm1.shop.lodge')), ['10.244.1.20']);
      assert.deepEqual(data(await ask('vm1.default.lodge')), ['10.244.1.21']);
      // The asker (127.0.0.1) is the Pod shop/asker.
      assert.deepEqual(data(await ask('vm1.lodge')), ['10.244.1.20']);
      // An Instance without an address yet exists, with no answer.
      const booting = await ask('booting.shop.lodge');
      assert.equal(booting.rcode, 'NOERROR');
      assert.deepEqual(booting.answers, []);
      assert.equal((await ask('nosuch.lodge')).rcode, 'NXDOMAIN');
    });

    test(`${transport}: unknown names in our zones are NXDOMAIN with the zone's SOA; AAAA of a known name is empty NOERROR`, async () => {
      const nx = await ask('nosuch.shop.svc.cluster.local');
      assert.equal(nx.rcode, 'NXDOMAIN');
      assert.equal(nx.flag_aa, true);
      assert.equal(nx.authorities?.[0]?.type, 'SOA');
      assert.equal(nx.authorities?.[0]?.name, 'cluster.local');
      const v6 = await ask('web.shop.svc.cluster.local', 'AAAA');
      assert.equal(v6.rcode, 'NOERROR');
      assert.deepEqual(v6.answers, []);
      assert.equal(v6.authorities?.[0]?.type, 'SOA');
      assert.equal((await ask('nosuch.shop.svc.cluster.local', 'AAAA')).rcode, 'NXDOMAIN');
    });

    test(`${transport}: ExternalName is a CNAME; PTR names Services, endpoints, Pods and Instances`, async () => {
      assert.deepEqual(data(await ask('docs.shop.svc.cluster.local'), 'CNAME'), ['docs.example.test']);
      assert.deepEqual(data(await ask('20.4.96.10.in-addr.arpa', 'PTR'), 'PTR'), ['web.shop.svc.cluster.local']);
      assert.deepEqual(data(await ask('5.1.244.10.in-addr.arpa', 'PTR'), 'PTR'), ['db-0.db.shop.svc.cluster.local']);
      assert.deepEqual(data(await ask('9.1.244.10.in-addr.arpa', 'PTR'), 'PTR'), ['10-244-1-9.shop.pod.cluster.local']);
      assert.deepEqual(data(await ask('20.1.244.10.in-addr.arpa', 'PTR'), 'PTR'), ['vm1.shop.lodge']);
    });
  }
});

describe('forwarding and limits', () => {
  test('names outside the cluster go to the upstream, over the transport they came on', async () => {
    const before = upstream.asked.length;
    const u = await askUdp(server.port, 'www.example.test');
    assert.equal(u.rcode, 'NOERROR');
    assert.deepEqual(data(u), [UPSTREAM_ANSWER]);
    const t = await askTcp(server.port, 'ftp.example.test');
    assert.deepEqual(data(t), [UPSTREAM_ANSWER]);
    assert.deepEqual(upstream.asked.slice(before), ['A www.example.test', 'A ftp.example.test']);
    // Cluster names never reach it.
    await askUdp(server.port, 'nosuch.shop.svc.cluster.local');
    assert.equal(upstream.asked.length, before + 2);
  });

  test('an unreachable upstream makes SERVFAIL, the next upstream is tried', async () => {
    // A closed loopback port: the forwarder's UDP gets no answer (ICMP refusal) and gives up.
    const closed = createSocket('udp4');
    await new Promise<void>((r) => closed.bind(0, '127.0.0.1', r));
    const deadPort = closed.address().port;
    await new Promise<void>((r) => closed.close(() => r()));
    const saved = upstreams;
    try {
      upstreams = [{ host: '127.0.0.1', port: deadPort }];
      assert.equal((await askUdp(server.port, 'down.example.test')).rcode, 'SERVFAIL');
      upstreams = [{ host: '127.0.0.1', port: deadPort }, ...saved];
      assert.deepEqual(data(await askUdp(server.port, 'second.example.test')), [UPSTREAM_ANSWER]);
    } finally {
      upstreams = saved;
    }
  });

  test('an answer too big for UDP is truncated there and whole over TCP', async () => {
    // 20 A records of this name take about 840 bytes (dns-packet does not compress names): more than 512, less than 1232.
    const many = Array.from({ length: 20 }, (_, i) => ({ addresses: [`10.244.2.${i + 1}`], conditions: { ready: true } }));
    const index = RecordIndex.build({ services: () => [service('big', 'wide', { clusterIP: 'None' })], endpointSlices: () => [slice('big', 'wide', many)], pods: () => [], instances: () => [] }, 'cluster.local');
    const big = await startDnsServer({ host: '127.0.0.1', port: 0, resolve: (q, a) => resolveQuestion(index, q, a), forwarder: new UpstreamForwarder(() => []), log });
    try {
      const udp = await askUdp(big.port, 'wide.big.svc.cluster.local');
      assert.equal(udp.flag_tc, true);
      assert.deepEqual(udp.answers, []);
      const tcp = await askTcp(big.port, 'wide.big.svc.cluster.local');
      assert.equal(tcp.flag_tc, false);
      assert.equal(data(tcp).length, 20);
      // With EDNS the asker's bigger buffer (up to 1232 bytes) is used.
      const edns = await askUdp(big.port, 'wide.big.svc.cluster.local', 'A', true);
      assert.equal(edns.flag_tc, false);
      assert.equal(data(edns).length, 20);
    } finally {
      await big.close();
    }
  });

  test('garbage gets FORMERR or nothing, and the server keeps answering', async () => {
    const sock = createSocket('udp4');
    const got = new Promise<Buffer>((r) => sock.once('message', r));
    const junk = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    sock.send(junk, server.port, '127.0.0.1');
    const reply = dnsPacket.decode(await got) as Reply;
    sock.close();
    assert.equal(reply.id, 0x1234);
    assert.equal(reply.rcode, 'FORMERR');
    assert.deepEqual(data(await askUdp(server.port, 'web.shop.svc.cluster.local')), ['10.96.4.20']);
  });

  test('--dns-upstream takes ADDR or ADDR:PORT, and says what it wants otherwise', () => {
    assert.deepEqual(parseUpstream('127.0.0.1'), { host: '127.0.0.1', port: 53 });
    assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseUpstream('[::1]:54'), { host: '::1', port: 54 });
    assert.deepEqual(parseUpstream('::1'), { host: '::1', port: 53 });
    assert.throws(() => parseUpstream('dns.example.test'), /ADDR or ADDR:PORT/);
    assert.throws(() => parseUpstream('127.0.0.1:99999'), /ADDR or ADDR:PORT/);
  });
});

