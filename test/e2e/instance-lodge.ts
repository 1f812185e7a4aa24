// One `lodge up` (with its agent) per test file for Instance tests, with the
// hooks every such file needs: started before the tests; afterwards the
// Instances are deleted through the API, lodge is stopped, any QEMU of this
// file's Instances is killed by the pid its VM driver recorded, and the host
// is swept by uid — whatever the tests left.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { lodgeCli, removeDir, shutdown, startLodge, type Lodge, type RunResult } from './harness.js';
import { InstanceFixture } from './instance-fixture.js';

export interface InstanceLodge {
  readonly lodge: Lodge;
  readonly dataDir: string;
  readonly instances: InstanceFixture;
  /** lodge ARGS; the result whatever the exit code. */
  run(args: string[], input?: string): RunResult;
  /** lodge ARGS that must succeed; its stdout. */
  cli(...args: string[]): string;
  /** QEMU of an Instance, by the pid the VM driver recorded, while it runs. */
  qemuPid(uid: string): number | undefined;
}

/** prefix: short, as the VMs' unix sockets live under the data dir and a socket path has 107 bytes. */
export function useInstanceLodge(prefix: string, node: string): InstanceLodge {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  let lodge: Lodge | undefined;
  const instances = new InstanceFixture(() => lodge);
  const qemuPid = (uid: string): number | undefined => {
    const f = join(dataDir, 'runtime', 'vms', `i-${uid}`, 'pid');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8'));
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=i-${uid},`) ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  before(async () => {
    lodge = await startLodge({ dataDir, args: ['--node-name', node] });
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
  const run = (args: string[], input?: string): RunResult => lodgeCli(lodge!, args, { timeoutMs: 600_000, input });
  return {
    get lodge(): Lodge {
      if (!lodge) throw new Error('lodge is not running');
      return lodge;
    },
    dataDir,
    instances,
    run,
    cli: (...args) => {
      const r = run(args);
      assert.equal(r.code, 0, `lodge ${args.join(' ')}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`);
      return r.stdout;
    },
    qemuPid,
  };
}
