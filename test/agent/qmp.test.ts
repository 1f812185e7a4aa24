// The QMP client against a real QEMU (machine "none": no guest, starts in
// milliseconds). Every QEMU started here is killed by pid in an after hook.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { QmpClient, QmpClosedError, QmpConnectError, QmpError, QmpTimeoutError, type QmpEvent } from '../../src/agent/drivers/vm/qmp/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lodge-qmp-'));
const children: ChildProcess[] = [];

function startQemu(sock: string): ChildProcess {
  const child = spawn('qemu-system-x86_64', ['-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('QMP client', () => {
  test('connects before the socket exists, negotiates, runs commands', async () => {
    const sock = join(tmp, 'a.sock');
    // Connect first: the client must retry until QEMU has made the socket.
    const connecting = QmpClient.connect(sock, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    startQemu(sock);
    const qmp = await connecting;
    try {
      assert.equal(qmp.greeting?.QMP.version.qemu.major !== undefined, true);
      const status = await qmp.execute<{ status: string; running: boolean }>('query-status');
      assert.equal(typeof status.running, 'boolean');
      const version = await qmp.execute<{ qemu: { major: number } }>('query-version');
      assert.equal(version.qemu.major, qmp.greeting?.QMP.version.qemu.major);
    } finally {
      qmp.close();
    }
  });

  test('errors are typed: class, description and command', async () => {
    const sock = join(tmp, 'b.sock');
    startQemu(sock);
    const qmp = await QmpClient.connect(sock);
    try {
      await assert.rejects(qmp.execute('no-such-command'), (e: unknown) => e instanceof QmpError && e.errorClass === 'CommandNotFound' && e.command === 'no-such-command' && e.desc.length > 0);
      await assert.rejects(qmp.execute('query-block', { bogus: 1 }), (e: unknown) => e instanceof QmpError && e.errorClass === 'GenericError' && /bogus/.test(e.desc));
      // The connection is still good after an error.
      await qmp.execute('query-status');
    } finally {
      qmp.close();
    }
  });

  test('events: emitted, awaited with a predicate, matched even when they precede the reply', async () => {
    const sock = join(tmp, 'c.sock');
    startQemu(sock);
    const qmp = await QmpClient.connect(sock);
    try {
      const seen: QmpEvent[] = [];
      const off = qmp.onEvent((e) => seen.push(e));
      const stopped = qmp.waitForEvent('STOP', { timeoutMs: 5000 });
      await qmp.execute('stop');
      assert.equal((await stopped).event, 'STOP');
      assert.equal((await qmp.execute<{ status: string }>('query-status')).status, 'paused');
      const resumed = qmp.waitForEvent(['RESUME', 'NEVER'], { timeoutMs: 5000, predicate: (e) => e.timestamp.seconds > 0 });
      await qmp.execute('cont');
      assert.equal((await resumed).event, 'RESUME');
      off();
      assert.deepEqual(seen.map((e) => e.event), ['STOP', 'RESUME']);
      await assert.rejects(qmp.waitForEvent('NO_SUCH_EVENT', { timeoutMs: 100 }), QmpTimeoutError);
      // A predicate that never holds is a timeout too.
      const none = qmp.waitForEvent('STOP', { timeoutMs: 500, predicate: () => false });
      await qmp.execute('stop');
      await assert.rejects(none, QmpTimeoutError);
    } finally {
      qmp.close();
    }
  });

  test('a closed connection fails pending calls and waits', async () => {
    const sock = join(tmp, 'd.sock');
    const child = startQemu(sock);
    const qmp = await QmpClient.connect(sock);
    // A stopped QEMU cannot answer: the call stays pending until close().
    process.kill(child.pid as number, 'SIGSTOP');
    try {
      const pending = qmp.execute('query-status');
      const waiting = qmp.waitForEvent('SHUTDOWN', { timeoutMs: 10_000 });
      qmp.close();
      await assert.rejects(pending, (e: unknown) => e instanceof QmpClosedError && e.command === 'query-status');
      await assert.rejects(waiting, QmpClosedError);
      await assert.rejects(qmp.execute('query-status'), QmpClosedError);
      assert.equal(qmp.closed, true);
    } finally {
      process.kill(child.pid as number, 'SIGCONT');
    }
    // QEMU exiting (quit) closes the connection from its side.
    const again = await QmpClient.connect(sock);
    const shutdown = again.waitForEvent('SHUTDOWN', { timeoutMs: 5000 });
    await again.execute('quit');
    assert.equal((await shutdown).data.reason, 'host-qmp-quit');
    await exited(child);
    await assert.rejects(again.execute('query-status'), QmpClosedError);
  });

  test('connect gives up: no socket, or a monitor busy with another client', async () => {
    await assert.rejects(QmpClient.connect(join(tmp, 'missing.sock'), { timeoutMs: 300 }), (e: unknown) => e instanceof QmpConnectError && /missing\.sock/.test(e.message));
    const sock = join(tmp, 'e.sock');
    startQemu(sock);
    const first = await QmpClient.connect(sock);
    try {
      await assert.rejects(QmpClient.connect(sock, { timeoutMs: 500 }), (e: unknown) => e instanceof QmpConnectError && /greeting/.test(e.message));
    } finally {
      first.close();
    }
  });
});
