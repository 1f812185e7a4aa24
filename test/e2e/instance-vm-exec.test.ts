// `lodge exec` in a VM Instance, end to end: a real `lodge up` launches
// busybox-vm under QEMU and the CLI runs commands in it through the guest
// agent (qemu-ga on virtio-serial): output, stderr apart, exit codes, stdin.
// Checks are on output and exit codes, never timings. QEMU is killed by pid
// in the after hook whatever happened; the data dir goes with it.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, lodgeCli, removeDir, shutdown, startLodge, waitFor, type Lodge } from './harness.js';
import { InstanceFixture, instanceCgroups } from './instance-fixture.js';

const NODE = `lodge-vmexec-${process.pid}`;
// Short: the VM's sockets live under it, and a unix socket path has 107 bytes.
const dataDir = mkdtempSync(join(tmpdir(), 'lodge-vmx-'));
let lodge: Lodge | undefined;
const instances = new InstanceFixture(() => lodge);

function lodgeRun(args: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  return lodgeCli(lodge!, args, { timeoutMs: 180_000, input });
}

function cli(...args: string[]): string {
  const r = lodgeRun(args);
  assert.equal(r.code, 0, `lodge ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
  return r.stdout;
}

/** QEMU of instance uid, by the pid the VM driver recorded, when it still runs. */
function qemuPid(uid: string): number | undefined {
  const f = join(dataDir, 'runtime', 'vms', `i-${uid}`, 'pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8'));
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=i-${uid},`) ? pid : undefined;
  } catch {
    return undefined;
  }
}

before(async () => {
  lodge = await startLodge({ dataDir, args: ['--node-name', NODE] });
});

after(async () => {
  try {
    if (lodge && lodge.proc.exitCode === null && lodge.proc.signalCode === null) await instances.deleteAll();
  } finally {
    await shutdown(lodge, dataDir).catch(() => undefined);
    for (const uid of instances.uids) {
      const pid = qemuPid(uid);
      if (pid) process.kill(pid, 'SIGKILL');
    }
    instances.sweepHost([dataDir]);
    removeDir(dataDir);
  }
});

describe('lodge exec in a VM', () => {
  test('runs commands through the guest agent: output, stderr apart, exit codes, stdin; a terminal is refused with a pointer to the console', async () => {
    // The first launch also builds the image (the .debs are cached per machine); under TCG a boot takes seconds.
    assert.match(cli('launch', 'busybox-vm', 'v', '--vm', '--memory', '256MiB', '--timeout', '10m'), /instance.lodge.dev\/v running on/);
    const uid = (await instances.get('v')).metadata.uid as string;

    // The guest may still be booting: exec waits for its agent (bounded) rather than failing.
    assert.equal(cli('exec', 'v', '--', 'hostname'), 'v\n');

    const failed = lodgeRun(['exec', 'v', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(failed.code, 3, failed.stderr);
    assert.equal(failed.stdout, 'out\n');
    assert.match(failed.stderr, /^err$/m);

    const cat = lodgeRun(['exec', '-i', 'v', '--', 'cat'], 'through stdin\n');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'through stdin\n');

    // The CLI drops -t when its stdin is no terminal (as kubectl does), so ask the API directly.
    const tty = await api(lodge!, 'GET', '/apis/lodge.dev/v1alpha1/namespaces/default/instances/v/exec?command=sh&stdin=true&stdout=true&tty=true');
    assert.equal(tty.status, 400, tty.text);
    assert.match(tty.text, /lodge console v/);

    cli('delete', 'v');
    await waitFor('v gone', async () => (await instances.get('v')) === undefined, 120_000);
    assert.equal(qemuPid(uid), undefined, 'QEMU ended');
    assert.equal(existsSync(join(dataDir, 'runtime', 'vms', `i-${uid}`)), false, 'state dir and sockets removed');
    assert.deepEqual(instanceCgroups(uid), []);
  });
});
