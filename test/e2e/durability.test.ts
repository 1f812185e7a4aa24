// End-to-end: an acknowledged write survives SIGKILL of `lodge up`. Eight
// clients create ConfigMaps as fast as they can; lodge is killed mid-stream;
// after a restart on the same data dir every create that was answered 201
// exists, and the old kubeconfig (same CA, same token) still works.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { api, requestFailures, shutdown, startLodge, type Lodge } from './harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'lodge-e2e-durability-'));
let first: Lodge | undefined;
let second: Lodge | undefined;

after(async () => {
  await first?.kill().catch(() => undefined);
  await shutdown(second, dataDir);
});

interface Kubeconfig {
  server: string;
  caPem: string;
  token: string;
}

function readKubeconfig(path: string): Kubeconfig {
  const doc = YAML.parse(readFileSync(path, 'utf8'));
  const ctx = doc.contexts.find((c: any) => c.name === doc['current-context']).context;
  const cluster = doc.clusters.find((c: any) => c.name === ctx.cluster).cluster;
  const user = doc.users.find((u: any) => u.name === ctx.user).user;
  return { server: cluster.server, caPem: Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8'), token: user.token };
}

/** A GET with exactly what a kubeconfig gives: its server, its CA, its token. */
function getWith(kc: Kubeconfig, path: string): Promise<{ status: number; text: string }> {
  return new Promise((res, rej) => {
    const req = request(new URL(path, kc.server), { method: 'GET', ca: kc.caPem, headers: { authorization: `Bearer ${kc.token}` }, agent: false }, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (d: string) => (text += d));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, text }));
    });
    req.on('error', rej);
    req.end();
  });
}

describe('durability across SIGKILL', () => {
  it('every create answered 201 before the kill exists after a restart', async (t) => {
    first = await startLodge({ dataDir, args: ['--no-agent'] });
    const lodge = first;
    const port = new URL(lodge.url).port;
    const kubeconfigBefore = readKubeconfig(lodge.kubeconfig);
    const caBefore = readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8');
    const ns = await api(lodge, 'POST', '/api/v1/namespaces', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'durable' } }),
      contentType: 'application/json',
    });
    assert.equal(ns.status, 201, ns.text);

    const acked = new Map<string, string>(); // name → resourceVersion
    let other = 0; // answers that were neither 201 nor a connection failure
    let stop = false;
    let killed!: () => void;
    const killedNow = new Promise<void>((r) => (killed = r));
    const KILL_AFTER = 400;

    const client = async (c: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = `c${c}-${i}`;
        try {
          const r = await api(lodge, 'POST', '/api/v1/namespaces/durable/configmaps', {
            body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { client: String(c) } }, data: { i: String(i), pad: 'x'.repeat(200) } }),
            contentType: 'application/json',
          });
          if (r.status === 201) {
            acked.set(name, r.json().metadata.resourceVersion);
            if (acked.size >= KILL_AFTER) killed();
          } else other++;
        } catch {
          // The connection died with the server: this create is unknown, not acknowledged.
          return;
        }
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await killedNow;
    await lodge.kill(); // SIGKILL while the clients are mid-request
    stop = true;
    await Promise.all(clients);
    assert.equal(other, 0, 'every answered create was a 201');
    assert.ok(acked.size >= KILL_AFTER);
    assert.deepEqual(requestFailures(lodge), []);

    // Restart on the same data dir and the same port, so the old kubeconfig applies verbatim.
    second = await startLodge({ dataDir, args: ['--no-agent', '--listen', `127.0.0.1:${port}`] }).catch(async (e: Error) => {
      // Someone else took the port in the meantime: use the old kubeconfig's credentials on the new port.
      t.diagnostic(`restart on port ${port} failed (${e.message.split('\n')[0]}); restarting on a free port`);
      return startLodge({ dataDir, args: ['--no-agent'] });
    });
    const samePort = new URL(second.url).port === port;
    if (!samePort) kubeconfigBefore.server = second.url;
    assert.equal(readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'), caBefore, 'the CA is kept');
    assert.equal(second.token, kubeconfigBefore.token, 'the admin token is kept');

    const listed = await getWith(kubeconfigBefore, '/api/v1/namespaces/durable/configmaps');
    assert.equal(listed.status, 200, listed.text);
    const list = JSON.parse(listed.text);
    const present = new Map<string, any>(list.items.map((i: any) => [i.metadata.name, i]));
    const missing = [...acked.keys()].filter((n) => !present.has(n));
    assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged creates are missing`);
    for (const [name, rv] of acked) {
      const obj = present.get(name);
      assert.equal(obj.metadata.resourceVersion, rv, `${name} kept its resourceVersion`);
      assert.equal(obj.data.pad.length, 200);
    }
    t.diagnostic(`${acked.size} creates acknowledged before SIGKILL, ${present.size} present after restart`);
    // At most the in-flight creates (one per client) may exist without an answer.
    assert.ok(present.size - acked.size <= 8, `${present.size} present, ${acked.size} acknowledged`);

    // The restarted store keeps counting from where it was.
    const maxRv = Math.max(...[...present.values()].map((o) => Number(o.metadata.resourceVersion)));
    const after = await api(second, 'POST', '/api/v1/namespaces/durable/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-restart' } }),
      contentType: 'application/json',
    });
    assert.equal(after.status, 201, after.text);
    assert.ok(Number(after.json().metadata.resourceVersion) > maxRv);
    assert.ok(Number(list.metadata.resourceVersion) >= maxRv);

    // The kubeconfig lodge rewrote on restart names the same CA and token.
    const kubeconfigAfter = readKubeconfig(second.kubeconfig);
    assert.equal(kubeconfigAfter.caPem, kubeconfigBefore.caPem);
    assert.equal(kubeconfigAfter.token, kubeconfigBefore.token);
    if (samePort) assert.equal(kubeconfigAfter.server, kubeconfigBefore.server);
    assert.deepEqual(requestFailures(second), []);
  });
});
