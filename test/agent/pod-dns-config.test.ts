// A Pod's resolv.conf and /etc/hosts as the kubelet writes them, from its
// dnsPolicy and dnsConfig; a system container's; the host's file read back.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeObject } from '../../src/apis/types.js';
import { clusterDnsConfig } from '../../src/agent/dns/instance-dns-config.js';
import { podHostsFile } from '../../src/agent/dns/hosts-file.js';
import { podDnsConfig, type ClusterDnsSettings } from '../../src/agent/dns/pod-dns-config.js';
import { formatResolvConf, parseResolvConf, readHostDnsConfig } from '../../src/agent/dns/resolv-conf.js';

const host = { nameservers: ['192.0.2.53'], searches: ['corp.example.test'], options: ['timeout:2'] };
const cluster: ClusterDnsSettings = { clusterDnsIP: '10.96.0.10', clusterDomain: 'cluster.local', host };
const pod = (spec: Record<string, unknown>, ns = 'shop'): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: ns }, spec: { containers: [], ...spec } });

test('ClusterFirst (the default): the cluster DNS, its search path then the host\'s, ndots:5', () => {
  const r = podDnsConfig(pod({}), cluster);
  assert.deepEqual(r.config, { nameservers: ['10.96.0.10'], searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example.test'], options: ['ndots:5'] });
  assert.deepEqual(r.warnings, []);
  assert.equal(formatResolvConf(r.config), 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example.test\nnameserver 10.96.0.10\noptions ndots:5\n');
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'ClusterFirstWithHostNet' }), cluster).config, r.config);
});

test('ClusterFirst without a cluster DNS Service falls back to the host, with a warning', () => {
  const r = podDnsConfig(pod({}), { ...cluster, clusterDnsIP: undefined });
  assert.deepEqual(r.config, host);
  assert.match(r.warnings[0] ?? '', /no cluster DNS Service/);
});

test('Default is the host\'s; None is dnsConfig alone; dnsConfig is merged as the kubelet merges it', () => {
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), cluster).config, host);
  const none = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1'], searches: ['a.test'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } }), cluster);
  assert.deepEqual(none.config, { nameservers: ['192.0.2.1'], searches: ['a.test'], options: ['ndots:2', 'edns0'] });
  const merged = podDnsConfig(pod({ dnsConfig: { nameservers: ['10.96.0.10', '192.0.2.1'], searches: ['svc.cluster.local', 'b.test'], options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] } }), cluster);
  assert.deepEqual(merged.config.nameservers, ['10.96.0.10', '192.0.2.1']);
  assert.deepEqual(merged.config.searches, ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example.test', 'b.test']);
  assert.deepEqual(merged.config.options, ['ndots:1', 'single-request']);
});

test('more than 3 nameservers or 32 search domains are cut, with a warning', () => {
  const r = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { nameservers: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'], searches: Array.from({ length: 40 }, (_, i) => `s${i}.test`) } }), cluster);
  assert.deepEqual(r.config.nameservers, ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  assert.equal(r.config.searches.length, 32);
  assert.equal(r.warnings.length, 2);
});

test('a system container searches its namespace\'s Instances, then lodge, then the Services', () => {
  assert.deepEqual(clusterDnsConfig('shop', cluster), {
    nameservers: ['10.96.0.10'],
    searches: ['shop.lodge', 'lodge', 'shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    options: ['ndots:5'],
  });
  assert.deepEqual(clusterDnsConfig('shop', { ...cluster, clusterDnsIP: undefined }), host);
});

test('/etc/hosts: localhost, the Pod\'s own name (FQDN with a subdomain) and its host aliases', () => {
  const plain = podHostsFile(pod({}), '10.244.1.5', 'cluster.local');
  assert.match(plain, /^# Kubernetes-managed hosts file\.\n127\.0\.0\.1\tlocalhost\n/);
  assert.match(plain, /\n10\.244\.1\.5\tweb-1\n$/);
  const sub = podHostsFile(pod({ hostname: 'db-0', subdomain: 'db', hostAliases: [{ ip: '192.0.2.9', hostnames: ['a.test', 'b.test'] }] }), '10.244.1.5', 'cluster.local');
  assert.match(sub, /\n10\.244\.1\.5\tdb-0\.db\.shop\.svc\.cluster\.local\tdb-0\n/);
  assert.match(sub, /# Entries added by HostAliases\.\n192\.0\.2\.9\ta\.test\tb\.test\n$/);
  assert.doesNotMatch(podHostsFile(pod({}), undefined, 'cluster.local'), /web-1/);
});

test('resolv.conf is read as glibc reads it: comments, the last search line, domain; a missing file is empty', async () => {
  assert.deepEqual(parseResolvConf('# x\nnameserver 192.0.2.1 ; y\nsearch a.test b.test.\nnameserver 192.0.2.2\noptions ndots:2 edns0\n'), {
    nameservers: ['192.0.2.1', '192.0.2.2'],
    searches: ['a.test', 'b.test'],
    options: ['ndots:2', 'edns0'],
  });
  assert.deepEqual(parseResolvConf('search a.test\ndomain c.test\n').searches, ['c.test']);
  const dir = mkdtempSync(join(tmpdir(), 'lodge-resolv-'));
  try {
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 192.0.2.8\n');
    assert.deepEqual((await readHostDnsConfig(join(dir, 'resolv.conf'))).nameservers, ['192.0.2.8']);
    assert.deepEqual(await readHostDnsConfig(join(dir, 'missing')), { nameservers: [], searches: [], options: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
