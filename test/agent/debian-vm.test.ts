// The debian-vm image end to end: built from Debian packages (debootstrap
// through its cache in LODGE_DEBOOTSTRAP_CACHE or /var/cache/lodge/debootstrap,
// the kernel from the .deb cache), then booted by the VM driver under TCG:
// systemd reaches the ready marker, exec through Debian's qemu-guest-agent
// sees a running system with the host name the driver passed, a file
// written survives a guest reboot, and the ACPI power button powers it off.
// The image is kept in LODGE_TEST_VM_IMAGES (shared with the other VM tests),
// so reruns on one machine neither debootstrap nor build again. Boot and build
// times are reported as diagnostics, never asserted. Every QEMU is killed by
// pid and every cgroup and temp dir removed in the after hook.
import { vmWorkloadSpec } from './vm-test-helpers.js';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Instance } from '../../src/apis/lodge/v1alpha1/instance-types.js';
import { removeCgroup } from '../../src/agent/drivers/container/cgroups.js';
import type { GuestNetwork } from '../../src/agent/first-boot/guest-network.js';
import { noCloudSeed } from '../../src/agent/first-boot/nocloud.js';
import { ensureBridge, removeBridge } from '../../src/agent/network/bridge.js';
import { freeClusterCidr } from '../../src/agent/network/free-cidr.js';
import { ensureTap, removeTap } from '../../src/agent/network/tap.js';
import { writeSeedDisk } from '../../src/agent/first-boot/seed-disk.js';
import { VmDriver } from '../../src/agent/drivers/vm/index.js';
import { GUEST_READY_MARKER } from '../../src/agent/images/vm/busybox-vm.js';
import { DEFAULT_DEB_CACHE } from '../../src/agent/images/vm/debs.js';
import { DEBIAN_VM_DISK_BYTES, DEFAULT_DEBOOTSTRAP_CACHE } from '../../src/agent/images/vm/debian-vm.js';
import { VmImages, type VmImage } from '../../src/agent/images/vm/vm-images.js';
import type { ExecProcess, WorkloadSpec } from '../../src/agent/runtime/driver.js';
import { createLogger } from '../../src/util/log.js';

const MiB = 1024 * 1024;
const IMAGES = process.env.LODGE_TEST_VM_IMAGES ?? '/var/tmp/lodge-test-vm-images';

const hasTool = (t: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const missing = ['qemu-system-x86_64', 'qemu-img', 'debootstrap', 'apt-get', 'mkfs.ext4', 'genisoimage'].filter((t) => !hasTool(t));
const skip = process.getuid?.() !== 0 ? 'needs root (debootstrap, chroot)' : missing.length ? `needs ${missing.join(', ')}` : false;

describe('debian-vm', { skip }, () => {
  // Short: sockets live in the state dir and a unix socket path has 107 bytes.
  const tmp = mkdtempSync('/tmp/lodge-dvm-');
  const root = join(tmp, 'r');
  const cgroupParent = `/lodge-test-dvm-${process.pid}`;
  const created = new Set<string>();
  let image: VmImage;
  let driver: VmDriver;
  // The guest's NIC: a tap on a bridge of this test's own, on a /24 nothing on the host uses ("lt" names: network.test's host snapshot ignores them).
  const bridge = `ltd${process.pid}`;
  const tapOwner = `dvm-test-uid-1-${process.pid}`;
  const net24 = freeClusterCidr(process.pid * 11).replace(/\.0\.0\/16$/, '.0.0/24');
  const gateway = net24.replace(/0\/24$/, '1');
  const guestAddress = net24.replace(/0\/24$/, '7');

  const pidOf = (id: string): number | undefined => {
    const f = join(root, 'vms', id, 'pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
  };
  const qemuAlive = (id: string, pid: number): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`guest=${id},`);
    } catch {
      return false;
    }
  };

  before(
    async () => {
      const images = await VmImages.open(IMAGES, { debCache: process.env.LODGE_DEB_CACHE ?? DEFAULT_DEB_CACHE, debootstrapCache: process.env.LODGE_DEBOOTSTRAP_CACHE ?? DEFAULT_DEBOOTSTRAP_CACHE });
      const t0 = performance.now();
      const steps: string[] = [];
      image = await images.ensure('debian-vm', (s) => steps.push(`${Math.round(performance.now() - t0)} ms ${s}`));
      // Empty when the image was already built (an earlier run).
      for (const s of steps) process.stderr.write(`# debian-vm build: ${s}\n`);
      process.stderr.write(`# debian-vm ensure: ${Math.round(performance.now() - t0)} ms\n`);
      driver = await VmDriver.open({ root, logger: createLogger({}, 'warn') });
      await ensureBridge({ name: bridge, gateway, prefixLength: 24 });
    },
    { timeout: 20 * 60_000 },
  );

  after(async () => {
    for (const id of created) {
      const pid = pidOf(id);
      if (pid && qemuAlive(id, pid)) process.kill(pid, 'SIGKILL');
      await driver?.delete(id).catch(() => undefined);
    }
    await removeCgroup(cgroupParent).catch(() => undefined);
    await removeTap(tapOwner).catch(() => undefined);
    await removeBridge(bridge).catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  });

  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdebianvmtestkeyonlyforlodgetests0000000000 alice@test';

  function spec(id: string, hostname: string, seed?: string, nic?: { tap: string; mac: string }): WorkloadSpec {
    created.add(id);
    return vmWorkloadSpec(id, image, { cgroupParent, logDir: join(tmp, 'logs'), hostname, vm: { memoryBytes: 512 * MiB, ...(seed ? { seed: { path: seed, format: 'raw' as const } } : {}), ...(nic ? { nics: [nic] } : {}) } });
  }

  const log = (s: WorkloadSpec): string => (existsSync(s.logPath) ? readFileSync(s.logPath, 'latin1') : '');
  const count = (text: string, what: string): number => text.split(what).length - 1;

  /** ms until the console log holds `n` ready markers. */
  async function waitMarkers(s: WorkloadSpec, n: number, timeoutMs: number): Promise<number> {
    const t0 = performance.now();
    while (count(log(s), GUEST_READY_MARKER) < n) {
      if (performance.now() - t0 > timeoutMs) throw new Error(`no ready marker #${n} within ${timeoutMs} ms; console:\n${log(s).slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return performance.now() - t0;
  }

  async function text(r: Readable | undefined): Promise<string> {
    if (!r) return '';
    let out = '';
    for await (const chunk of r) out += (chunk as Buffer).toString('utf8');
    return out;
  }
  async function exec(id: string, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const p: ExecProcess = await driver.exec(id, { args, tty: false });
    const [stdout, stderr, { exitCode }] = await Promise.all([text(p.stdout), text(p.stderr), p.wait()]);
    return { stdout, stderr, exitCode };
  }

  test('is a PVH kernel, the initramfs and a sparse 2 GiB qcow2 root disk', () => {
    const info = JSON.parse(execFileSync('qemu-img', ['info', '--output=json', image.disk.path]).toString()) as { format: string; 'virtual-size': number; 'actual-size': number };
    assert.equal(info.format, 'qcow2');
    assert.equal(info['virtual-size'], DEBIAN_VM_DISK_BYTES);
    assert.ok(info['actual-size'] < 1024 * MiB, `disk file is ${info['actual-size']} bytes`);
    assert.match(image.cmdline, /root=\/dev\/vda/);
    assert.match(image.kernelRelease, /cloud-amd64$/);
    process.stderr.write(`# debian-vm: ${Math.round(image.sizeBytes / MiB)} MiB on the host (kernel + initrd + disk), disk ${Math.round(info['actual-size'] / MiB)} MiB\n`);
  });

  test('boots systemd to the marker; exec through qemu-ga; the NoCloud seed applied once, its address at every boot (networkd); a file survives a reboot; the power button powers it off', { timeout: 10 * 60_000 }, async (t) => {
    // The seed as the instance layer makes it: host name, a user with a key, a user-data script.
    const instance = {
      apiVersion: 'lodge.dev/v1alpha1',
      kind: 'Instance',
      metadata: { name: 'deb-one', uid: 'dvm-test-uid-1' },
      spec: { type: 'vm', cloudInit: { users: [{ name: 'alice', sshAuthorizedKeys: [KEY], sudo: true }], userData: '#!/bin/sh\necho ran >>/root/ran\n' } },
    } as unknown as Instance;
    const tap = await ensureTap({ owner: tapOwner, bridge });
    const guestNet: GuestNetwork = { mac: tap.guestMac, interfaceName: 'eth0', address: guestAddress, prefixLength: 24, gateway, nameservers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: [] };
    const seedPath = join(tmp, 'seed.iso');
    await writeSeedDisk(noCloudSeed(instance, guestNet), seedPath);
    const s = spec('dvm-1', 'deb-one', seedPath, { tap: tap.name, mac: tap.guestMac });
    /** networkd configured Lodge's address on the NIC with the tap's MAC (whatever udev named it), the route via the bridge, resolved the nameserver; the guest reaches the bridge's address. */
    const assertNetwork = async (): Promise<void> => {
      let addr = '';
      for (let i = 0; i < 60 && !addr.includes(`inet ${guestAddress}/24`); i++) {
        if (i) await new Promise((r) => setTimeout(r, 500));
        addr = (await exec(s.id, ['ip', '-4', '-o', 'addr', 'show'])).stdout;
      }
      assert.ok(addr.includes(`inet ${guestAddress}/24`), `guest addresses:\n${addr}\nconsole:\n${log(s).slice(-2000)}`);
      assert.match((await exec(s.id, ['ip', 'route', 'show', 'default'])).stdout, new RegExp(`^default via ${gateway.replace(/\./g, '\\.')} `));
      assert.match((await exec(s.id, ['resolvectl', 'dns'])).stdout, /10\.96\.0\.10/);
      // minbase has no ping: bash's /dev/tcp to a listener of this test on the bridge's address.
      const got = new Promise<string>((resolve) => server.once('connection', (c) => c.once('data', (d: Buffer) => resolve(d.toString()))));
      const sent = await exec(s.id, ['bash', '-c', `echo from-guest >/dev/tcp/${gateway}/${(server.address() as AddressInfo).port}`]);
      assert.equal(sent.exitCode, 0, sent.stderr);
      assert.equal(await got, 'from-guest\n');
    };
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
    t.after(() => server.close());
    await driver.create(s);
    await driver.start(s.id);
    const firstMs = await waitMarkers(s, 1, 240_000);
    process.stderr.write(`# debian-vm first boot (TCG, start → ${GUEST_READY_MARKER}): ${Math.round(firstMs)} ms\n`);

    // The marker comes after multi-user.target; jobs started after it may still be running for a moment.
    let state = '';
    for (let i = 0; i < 60; i++) {
      state = (await exec(s.id, ['systemctl', 'is-system-running'])).stdout.trim();
      if (state !== 'starting' && state !== 'initializing') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const failed = (await exec(s.id, ['systemctl', '--failed', '--no-legend', '--plain'])).stdout.trim();
    assert.ok(state === 'running' || state === 'degraded', `systemctl is-system-running: ${state}; failed units: ${failed}`);
    if (state === 'degraded') process.stderr.write(`# debian-vm degraded; failed units:\n${failed}\n`);

    assert.deepEqual(await exec(s.id, ['hostname']), { stdout: 'deb-one\n', stderr: '', exitCode: 0 });
    assert.equal((await exec(s.id, ['cat', '/etc/hostname'])).stdout, 'deb-one\n');
    assert.equal((await exec(s.id, ['uname', '-r'])).stdout, `${image.kernelRelease}\n`);
    // Each clone its own identity: a machine-id and ssh host keys made at its first boot.
    assert.match((await exec(s.id, ['cat', '/etc/machine-id'])).stdout, /^[0-9a-f]{32}\n$/);
    assert.equal((await exec(s.id, ['test', '-s', '/etc/ssh/ssh_host_ed25519_key'])).exitCode, 0);
    // udev loaded modules from the image's /lib/modules (depmod'd at build time).
    assert.equal((await exec(s.id, ['test', '-s', `/lib/modules/${image.kernelRelease}/modules.dep`])).exitCode, 0);
    assert.equal((await exec(s.id, ['systemctl', 'is-active', 'systemd-logind', 'qemu-guest-agent'])).stdout, 'active\nactive\n');

    // The seed: applied before logins, the user-data script once after boot.
    assert.match((await exec(s.id, ['id', 'alice'])).stdout, /^uid=1000\(alice\) gid=1000\(alice\)/);
    assert.equal((await exec(s.id, ['cat', '/home/alice/.ssh/authorized_keys'])).stdout, `${KEY}\n`);
    const t1 = performance.now();
    while (!log(s).includes('lodge: user-data finished (exit 0)')) {
      if (performance.now() - t1 > 120_000) throw new Error(`the user-data script did not finish; console:\n${log(s).slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal((await exec(s.id, ['cat', '/root/ran'])).stdout, 'ran\n');
    assert.equal(count(log(s), 'lodge: first-boot configuration applied'), 1);
    await assertNetwork();

    assert.equal((await exec(s.id, ['sh', '-c', 'echo persisted-4242 >/root/persist && sync'])).exitCode, 0);
    // A guest reboot: systemd shuts down cleanly, and the same QEMU boots the kernel again from the overlay.
    assert.equal((await exec(s.id, ['systemctl', '--no-block', 'reboot'])).exitCode, 0);
    const secondMs = await waitMarkers(s, 2, 240_000);
    process.stderr.write(`# debian-vm reboot (systemctl reboot → second ${GUEST_READY_MARKER}): ${Math.round(secondMs)} ms\n`);
    assert.deepEqual(await exec(s.id, ['cat', '/root/persist']), { stdout: 'persisted-4242\n', stderr: '', exitCode: 0 });
    assert.equal((await exec(s.id, ['hostname'])).stdout, 'deb-one\n');
    // Once per instance-id: not again after the reboot.
    assert.equal((await exec(s.id, ['cat', '/root/ran'])).stdout, 'ran\n');
    assert.equal(count(log(s), 'lodge: first-boot configuration applied'), 1);
    assert.equal(count(log(s), 'lodge: user-data finished'), 1);
    // The address at every boot, not once per instance.
    await assertNetwork();

    // stop() presses the ACPI power button (QMP system_powerdown) and waits; logind must power off well within the grace period.
    const t0 = performance.now();
    await driver.stop(s.id, 120_000);
    const stopMs = performance.now() - t0;
    process.stderr.write(`# debian-vm power-off (system_powerdown → QEMU gone): ${Math.round(stopMs)} ms\n`);
    assert.ok(stopMs < 110_000, `stop took ${Math.round(stopMs)} ms: the guest ignored the power button and QEMU was quit`);
    // The kernel's last word on a clean power-off (pr_emerg, printed even with quiet).
    assert.match(log(s), /reboot: Power down/);
    const st = await driver.state(s.id);
    assert.equal(st.status, 'stopped');
    assert.equal(st.exitCode, 0);
    const pid = pidOf(s.id);
    await driver.delete(s.id);
    assert.ok(!pid || !qemuAlive(s.id, pid));
  });
});
