import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type TLSSocket } from 'node:tls';
import { connect } from 'node:tls';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki, identityFromSocket, pkiPaths, verifyClientCert } from '../../src/pki/index.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lodge-pki-'));
}

test('ensurePki issues a CA, a server and an admin certificate that verify against it', async () => {
  const dir = await tempDir();
  try {
    const pki = await ensurePki(dir, ['10.1.2.3', 'api.example.test']);
    const ca = new X509Certificate(pki.caPem);
    const server = new X509Certificate(pki.serverCertPem);
    const admin = new X509Certificate(pki.adminCertPem);

    assert.ok(ca.ca, 'CA has basicConstraints CA:TRUE');
    assert.equal(ca.publicKey.asymmetricKeyType, 'ec');
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (Date.parse(ca.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `CA valid for ~10 years, got ${years}`);

    for (const leaf of [server, admin]) {
      assert.ok(leaf.checkIssued(ca), 'issued by the CA');
      assert.ok(leaf.verify(ca.publicKey), 'signature verifies with the CA key');
      assert.equal(leaf.ca, false);
    }
    assert.ok(server.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(pki.serverKeyPem))));

    // Server SANs: the requested hosts plus loopback, localhost and the hostname.
    for (const ip of ['10.1.2.3', '127.0.0.1', '::1']) assert.equal(server.checkIP(ip), ip, `SAN IP ${ip}`);
    for (const name of ['api.example.test', 'localhost', hostname().toLowerCase()]) assert.ok(server.checkHost(name), `SAN DNS ${name}`);
    assert.equal(server.checkHost('other.example.test'), undefined);

    assert.equal(admin.subject, 'CN=admin\nO=system:masters');
    assert.deepEqual(verifyClientCert(pki.adminCertPem, pki.caPem), { user: 'admin', groups: ['system:masters'] });
    assert.equal(verifyClientCert(pki.serverCertPem, pki.caPem), null, 'a server certificate is not a client certificate');

    assert.match(pki.token, /^[A-Za-z0-9_-]{40,}$/);

    const paths = pkiPaths(dir);
    for (const key of [paths.caKey, paths.serverKey, paths.adminKey, paths.token]) {
      assert.equal((await stat(key)).mode & 0o777, 0o600, `${key} is 0600`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ensurePki reuses what it made, and reissues only the server certificate for new hosts', async () => {
  const dir = await tempDir();
  try {
    const first = await ensurePki(dir, ['127.0.0.1']);
    const second = await ensurePki(dir, ['127.0.0.1']);
    assert.deepEqual({ ...second, paths: undefined }, { ...first, paths: undefined }, 'second start reuses everything');

    const third = await ensurePki(dir, ['192.0.2.10']);
    assert.equal(third.caPem, first.caPem);
    assert.equal(third.adminCertPem, first.adminCertPem);
    assert.equal(third.token, first.token);
    assert.notEqual(third.serverCertPem, first.serverCertPem, 'server cert reissued for an uncovered host');
    assert.equal(new X509Certificate(third.serverCertPem).checkIP('192.0.2.10'), '192.0.2.10');

    // "[::1]" (URL form) is already covered: no reissue.
    const fourth = await ensurePki(dir, ['[::1]', 'localhost']);
    assert.equal(fourth.serverCertPem, third.serverCertPem);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ensurePki replaces a corrupt leaf but refuses half a CA', async () => {
  const dir = await tempDir();
  try {
    const first = await ensurePki(dir, []);
    const paths = pkiPaths(dir);
    await writeFile(paths.adminCert, 'garbage');
    const second = await ensurePki(dir, []);
    assert.notEqual(second.adminCertPem, first.adminCertPem);
    assert.ok(verifyClientCert(second.adminCertPem, second.caPem));

    await rm(paths.caKey);
    await assert.rejects(ensurePki(dir, []), /only one of ca\.crt and ca\.key/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a certificate from another CA is not accepted', async () => {
  const a = await tempDir();
  const b = await tempDir();
  try {
    const pa = await ensurePki(a, []);
    const pb = await ensurePki(b, []);
    assert.equal(verifyClientCert(pb.adminCertPem, pa.caPem), null);
  } finally {
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  }
});

test('node TLS with requestCert verifies the admin certificate during the handshake', async () => {
  const dir = await tempDir();
  try {
    const pki = await ensurePki(dir, []);
    const identities: Array<ReturnType<typeof identityFromSocket>> = [];
    const server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: false }, (sock: TLSSocket) => {
      identities.push(identityFromSocket(sock));
      sock.end('ok');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    const talk = (withCert: boolean): Promise<string> =>
      new Promise((res, rej) => {
        const s = connect({
          host: '127.0.0.1',
          port,
          ca: pki.caPem,
          servername: 'localhost',
          ...(withCert ? { cert: pki.adminCertPem, key: pki.adminKeyPem } : {}),
        });
        let data = '';
        s.on('data', (d: Buffer) => (data += d.toString()));
        s.on('end', () => res(data));
        s.on('error', rej);
      });
    assert.equal(await talk(true), 'ok', 'client verifies the server certificate for "localhost"');
    assert.equal(await talk(false), 'ok');
    server.close();
    assert.deepEqual(identities, [{ user: 'admin', groups: ['system:masters'] }, null]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
