// Container start: the driver's create+start (overlay mount, config.json,
// conmon, runc create, runc start) against a direct `runc run -d` of the
// same busybox rootfs with the same config.json, to running. Alternating
// samples so drift hits both alike; median of N each.
//
//   node dist/bench/container-start.js [--count 20]
//
// Not wired into run.ts: bench/pod-start.ts measures the same start end to
// end, from the API, against runc, podman and LXD. Root only.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ContainerDriver } from '../src/agent/drivers/container/index.js';
import { cgroupDirs } from '../src/agent/drivers/container/cgroups.js';
import { findExecutable, mustRun } from '../src/agent/drivers/container/command.js';
import { buildOciSpec } from '../src/agent/drivers/container/oci-spec.js';
import { probeHost } from '../src/agent/drivers/container/host.js';
import type { WorkloadSpec } from '../src/agent/runtime/driver.js';
import { createLogger } from '../src/util/log.js';
import { median, nowMs, summarize } from './lib/stats.js';

/**
 * `runc run -d` hands its own stdio to the container, so whoever waits for
 * those pipes to close waits for the container: give it /dev/null, wait for
 * runc's exit only, and read its errors from its --log file.
 */
function runcRunDetached(runc: string, runcRoot: string, bundle: string, id: string): Promise<void> {
  const log = join(bundle, 'runc.log');
  return new Promise((resolve, reject) => {
    const child = spawn(runc, ['--root', runcRoot, '--log', log, 'run', '-d', '-b', bundle, id], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`runc run -d ${id} failed (exit ${code}): ${readFileSync(log, 'utf8').trim().split('\n').pop() ?? ''}`));
    });
  });
}

function buildBusyboxRootfs(dir: string, busybox: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  copyFileSync(busybox, join(dir, 'bin', 'busybox'));
  chmodSync(join(dir, 'bin', 'busybox'), 0o755);
  // In a chroot, so the applet symlinks point at /bin/busybox inside the rootfs.
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
  for (const d of ['proc', 'dev', 'sys', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
}

async function runcRunning(runc: string, runcRoot: string): Promise<string[]> {
  const out = await mustRun([runc, '--root', runcRoot, 'list', '--format', 'json']).catch(() => 'null');
  return ((JSON.parse(out) as Array<{ id: string }> | null) ?? []).map((c) => c.id);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: 'string', default: '20' } } });
  const count = Number(values.count);
  if (process.getuid?.() !== 0) throw new Error('container-start bench needs root');
  const runc = await findExecutable('runc');
  const busybox = await findExecutable('busybox');
  if (!runc || !busybox || !(await findExecutable('conmon'))) throw new Error('runc, conmon and busybox are needed: node scripts/setup.mjs');

  const tmp = mkdtempSync('/tmp/lodge-bench-cs-');
  const cgroupParent = `/lodge-bench-${process.pid}`;
  const runcRoot = join(tmp, 'runc');
  const driver = await ContainerDriver.open({ root: join(tmp, 'root'), runcRoot, logger: createLogger({}, 'warn') });
  const rootfs = join(tmp, 'busybox');
  buildBusyboxRootfs(rootfs, busybox);
  const spec = (id: string): WorkloadSpec => ({
    id,
    node: 'bench',
    rootfs: { lowerDirs: [rootfs] },
    args: ['/bin/sleep', '1000'],
    env: ['PATH=/bin'],
    cwd: '/',
    limits: {},
    cgroupsPath: `${cgroupParent}/${id}`,
    mounts: [],
    logPath: join(tmp, 'logs', `${id}.log`),
  });

  // The direct peer: one bundle, the same config.json except that the root is the plain directory.
  const bundle = join(tmp, 'bundle');
  mkdirSync(bundle);
  const host = await probeHost();
  const directConfig = (id: string): string => {
    const config = buildOciSpec(spec(id), `${cgroupParent}/${id}`, host);
    return JSON.stringify({ ...config, root: { path: rootfs, readonly: false } });
  };

  const cleanup = async (): Promise<void> => {
    for (const w of await driver.list()) await driver.delete(w.id).catch(() => undefined);
    const left = await runcRunning(runc, runcRoot);
    for (const id of left) await mustRun([runc, '--root', runcRoot, 'delete', '--force', id]).catch(() => undefined);
    for (const dir of await cgroupDirs(cgroupParent)) {
      try {
        rmdirSync(dir);
      } catch {
        // reported by the delete that failed above
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  };
  // Interrupted: still leave no container, mount or cgroup behind.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  }

  const direct: number[] = [];
  const viaDriver: number[] = [];
  try {
    for (let i = -2; i < count; i++) {
      // runc run -d returns once the container process runs (it has exec'd).
      const rid = `direct-${i + 2}`;
      writeFileSync(join(bundle, 'config.json'), directConfig(rid));
      let t = nowMs();
      await runcRunDetached(runc, runcRoot, bundle, rid);
      if (i >= 0) direct.push(nowMs() - t);
      await mustRun([runc, '--root', runcRoot, 'delete', '--force', rid]);

      const did = `driver-${i + 2}`;
      t = nowMs();
      await driver.create(spec(did));
      await driver.start(did);
      if (i >= 0) viaDriver.push(nowMs() - t);
      await driver.delete(did);
    }
  } finally {
    await cleanup();
  }

  const a = summarize(direct);
  const b = summarize(viaDriver);
  const row = (name: string, s: typeof a): string => `${name.padEnd(40)} ${s.p50.toFixed(1).padStart(8)} ${s.p90.toFixed(1).padStart(8)} ${s.max.toFixed(1).padStart(8)}`;
  process.stdout.write(
    [
      `container start to running, busybox \`sleep\`, ${count} samples each (ms)`,
      `${''.padEnd(40)} ${'median'.padStart(8)} ${'p90'.padStart(8)} ${'max'.padStart(8)}`,
      row('runc run -d (plain dir)', a),
      row('driver create+start (overlay, conmon)', b),
      `ratio of medians (driver / runc): ${(median(viaDriver) / median(direct)).toFixed(2)}`,
      '',
    ].join('\n'),
  );
}

main().catch((e: Error) => {
  process.stderr.write(`container-start bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
