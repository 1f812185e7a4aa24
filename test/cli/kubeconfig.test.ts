import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { loadKubeconfig, locateKubeconfig, writeKubeconfig } from '../../src/client/kubeconfig.js';

const CA = '-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n';
const CERT = '-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n';

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lodge-kubeconfig-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writeKubeconfig round-trips through loadKubeconfig and is 0600', async () => {
  await withTemp(async (dir) => {
    const path = join(dir, 'sub', 'kubeconfig');
    await writeKubeconfig(path, { server: 'https://127.0.0.1:6443', caPem: CA, token: 'tok', clientCertPem: CERT, clientKeyPem: KEY, contextName: 'lodge' });
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    const doc = YAML.parse(await readFile(path, 'utf8'));
    assert.equal(doc.kind, 'Config');
    assert.equal(doc['current-context'], 'lodge');
    assert.equal(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), CA);
    assert.equal(doc.users[0].user.token, 'tok');

    const cfg = await loadKubeconfig({ kubeconfig: path });
    assert.equal(cfg.server, 'https://127.0.0.1:6443');
    assert.equal(cfg.caPem, CA);
    assert.equal(cfg.token, 'tok');
    assert.equal(cfg.clientCertPem, CERT);
    assert.equal(cfg.clientKeyPem, KEY);
    assert.equal(cfg.contextName, 'lodge');
    assert.equal(cfg.namespace, undefined);
    assert.equal(cfg.insecureSkipTlsVerify, false);
  });
});

test('search order: --kubeconfig, first existing $KUBECONFIG entry, ~/.lodge/kubeconfig, ~/.kube/config', async () => {
  await withTemp(async (home) => {
    const lodgeCfg = join(home, '.lodge', 'kubeconfig');
    const kubeCfg = join(home, '.kube', 'config');
    const envCfg = join(home, 'env-config');
    const flagCfg = join(home, 'flag-config');
    await writeKubeconfig(kubeCfg, { server: 'https://kube:1', caPem: CA, token: 'a' });

    assert.equal(locateKubeconfig({ env: {}, home }).path, kubeCfg, 'falls back to ~/.kube/config');
    await writeKubeconfig(lodgeCfg, { server: 'https://lodge:2', caPem: CA, token: 'b' });
    assert.equal(locateKubeconfig({ env: {}, home }).path, lodgeCfg, '~/.lodge/kubeconfig before ~/.kube/config');

    await writeKubeconfig(envCfg, { server: 'https://env:3', caPem: CA, token: 'c' });
    const env = { KUBECONFIG: `${join(home, 'missing')}:${envCfg}:${kubeCfg}` };
    assert.equal(locateKubeconfig({ env, home }).path, envCfg, 'first existing $KUBECONFIG entry');
    assert.equal(locateKubeconfig({ env: { KUBECONFIG: join(home, 'missing') }, home }).path, lodgeCfg, 'no existing $KUBECONFIG entry: defaults');

    await writeKubeconfig(flagCfg, { server: 'https://flag:4', caPem: CA, token: 'd' });
    assert.equal(locateKubeconfig({ kubeconfig: flagCfg, env, home }).path, flagCfg, '--kubeconfig wins');

    // Through the real environment: $HOME and $KUBECONFIG.
    const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
    try {
      process.env.HOME = home;
      delete process.env.KUBECONFIG;
      assert.equal((await loadKubeconfig()).server, 'https://lodge:2');
      process.env.KUBECONFIG = envCfg;
      assert.equal((await loadKubeconfig()).server, 'https://env:3');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }

    const empty = join(home, 'nothing-here');
    await mkdir(empty);
    await assert.rejects(loadKubeconfig({ env: {}, home: empty }), /no kubeconfig found/);
  });
});

test('loadKubeconfig reads files relative to the kubeconfig, contexts, namespace and insecure-skip-tls-verify', async () => {
  await withTemp(async (dir) => {
    await writeFile(join(dir, 'ca.crt'), CA);
    await writeFile(join(dir, 'client.crt'), CERT);
    await writeFile(join(dir, 'client.key'), KEY);
    await writeFile(join(dir, 'token'), 'file-token\n');
    const cfg = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'one',
      clusters: [
        { name: 'c1', cluster: { server: 'https://one:6443/', 'certificate-authority': 'ca.crt' } },
        { name: 'c2', cluster: { server: 'https://two:6443', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api' } },
      ],
      users: [
        { name: 'u1', user: { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') } },
        { name: 'u2', user: { tokenFile: 'token' } },
      ],
      contexts: [
        { name: 'one', context: { cluster: 'c1', user: 'u1', namespace: 'team-a' } },
        { name: 'two', context: { cluster: 'c2', user: 'u2' } },
        { name: 'broken', context: { cluster: 'nope', user: 'u1' } },
      ],
    };
    const path = join(dir, 'config');
    await writeFile(path, YAML.stringify(cfg));

    const one = await loadKubeconfig({ kubeconfig: path });
    assert.equal(one.server, 'https://one:6443', 'trailing slash dropped');
    assert.equal(one.caPem, CA);
    assert.equal(one.clientCertPem, CERT);
    assert.equal(one.clientKeyPem, KEY);
    assert.equal(one.token, undefined);
    assert.equal(one.namespace, 'team-a');

    const two = await loadKubeconfig({ kubeconfig: path, context: 'two' });
    assert.equal(two.insecureSkipTlsVerify, true);
    assert.equal(two.tlsServerName, 'api');
    assert.equal(two.token, 'file-token');
    assert.equal(two.caPem, undefined);

    await assert.rejects(loadKubeconfig({ kubeconfig: path, context: 'broken' }), /no cluster named "nope"/);
    await assert.rejects(loadKubeconfig({ kubeconfig: path, context: 'missing' }), /no context named "missing"/);
  });
});
