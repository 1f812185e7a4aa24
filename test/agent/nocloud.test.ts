// A VM's cloud-init NoCloud data (meta-data, user-data, the Lodge applier)
// and its seed disk, read back with isoinfo (no mounts). The appliers
// themselves run under chroot in a busybox root, as the busybox-vm guest runs
// them (the network one in a network namespace of its own).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { Instance, InstanceSpec } from '../../src/apis/lodge/v1alpha1/instance-types.js';
import { FirstBootConfigError } from '../../src/agent/first-boot/config.js';
import { LODGE_FIRST_BOOT_FILE, noCloudSeed } from '../../src/agent/first-boot/nocloud.js';
import { FIRST_BOOT_SCRIPT } from '../../src/agent/first-boot/rootfs.js';
import { cloudInitNetworkConfig, LODGE_NETWORK_FILE, lodgeNetworkScript, type GuestNetwork } from '../../src/agent/first-boot/guest-network.js';
import { writeSeedDisk } from '../../src/agent/first-boot/seed-disk.js';
import { qemuArgs } from '../../src/agent/drivers/vm/qemu-args.js';
import { Layout } from '../../src/agent/drivers/vm/layout.js';
import { buildBusybox } from '../../src/agent/images/builtin.js';
import { DEFAULT_BOOT_PROFILE } from '../../src/agent/images/vm/boot-profile.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl t@x';
const SCRIPT = '#!/bin/sh\necho ran >> /root/ran\n';

const instance = (spec: InstanceSpec, name = 'c1'): Instance => ({ apiVersion: 'lodge.dev/v1alpha1', kind: 'Instance', metadata: { name, uid: '0b0e7c2a-1111-4222-8333-444455556666' }, spec: { type: 'vm', ...spec } });

let tmp = '';
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lodge-nocloud-'));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The parts of a multipart MIME user-data, by content type. */
function mimeParts(text: string): Map<string, string> {
  const boundary = /boundary="([^"]+)"/.exec(text)?.[1];
  assert.ok(boundary, `no boundary in:\n${text}`);
  const parts = new Map<string, string>();
  for (const chunk of text.split(`--${boundary}`).slice(1, -1)) {
    const [head, ...body] = chunk.replace(/^\n/, '').split('\n\n');
    const type = /^Content-Type: ([^;\n]+)/m.exec(head!)?.[1];
    assert.ok(type, `a part without a type:\n${chunk}`);
    // The line break before a boundary belongs to the boundary (RFC 2046).
    parts.set(type, body.join('\n\n').replace(/\n$/, ''));
  }
  assert.ok(text.trimEnd().endsWith(`--${boundary}--`), 'closing boundary');
  return parts;
}

describe('NoCloud data', () => {
  test('meta-data: instance-id is the uid, local-hostname the spec hostname (else the name)', () => {
    assert.deepEqual(parse(noCloudSeed(instance({ cloudInit: { hostname: 'web1' } })).metaData), { 'instance-id': '0b0e7c2a-1111-4222-8333-444455556666', 'local-hostname': 'web1' });
    assert.equal(parse(noCloudSeed(instance({}, 'plain')).metaData)['local-hostname'], 'plain');
  });

  test('users and a script: multipart MIME with the cloud-config and the script as cloud-init reads them', () => {
    const seed = noCloudSeed(instance({ cloudInit: { hostname: 'web1', users: [{ name: 'alice', sshAuthorizedKeys: [KEY], sudo: true, groups: ['adm'] }], userData: SCRIPT } }));
    assert.match(seed.userData, /^Content-Type: multipart\/mixed; boundary="[^"]+"\nMIME-Version: 1.0\n/);
    const parts = mimeParts(seed.userData);
    assert.deepEqual([...parts.keys()], ['text/cloud-config', 'text/x-shellscript']);
    const cc = parts.get('text/cloud-config')!;
    assert.match(cc, /^#cloud-config\n/);
    assert.deepEqual(parse(cc), { hostname: 'web1', users: [{ name: 'alice', ssh_authorized_keys: [KEY], sudo: 'ALL=(ALL) NOPASSWD:ALL', groups: 'adm', lock_passwd: true }] });
    assert.equal(parts.get('text/x-shellscript'), SCRIPT);
  });

  test('a script and no users: the script is the user-data as given', () => {
    assert.equal(noCloudSeed(instance({ cloudInit: { userData: SCRIPT } })).userData, SCRIPT);
  });

  test('a #cloud-config is merged: its keys kept, the spec users first, its hostname wins', () => {
    const userData = '#cloud-config\nhostname: theirs\npackages: [htop]\nruncmd:\n  - echo hi\nusers:\n  - default\n  - name: bob\n';
    const seed = noCloudSeed(instance({ cloudInit: { hostname: 'web1', users: [{ name: 'alice', sshAuthorizedKeys: [KEY] }], userData } }));
    assert.match(seed.userData, /^#cloud-config\n/);
    const doc = parse(seed.userData) as Record<string, unknown>;
    assert.deepEqual(doc, { hostname: 'theirs', packages: ['htop'], runcmd: ['echo hi'], users: [{ name: 'alice', ssh_authorized_keys: [KEY], lock_passwd: true }, 'default', { name: 'bob' }] });
    assert.equal(parse(seed.metaData)['local-hostname'], 'theirs', 'one host name in both files');
    // packages is cloud-init's: the Lodge applier says it leaves it.
    assert.deepEqual(seed.config.ignored, ['packages']);
  });

  test('no userData: a cloud-config with the host name (and users when there are any)', () => {
    assert.deepEqual(parse(noCloudSeed(instance({ cloudInit: { hostname: 'h' } })).userData), { hostname: 'h' });
  });

  test('network-config passes through when the spec has one', () => {
    const net = 'version: 2\nethernets:\n  eth0:\n    dhcp4: true';
    assert.equal(noCloudSeed(instance({ cloudInit: { networkConfig: net } })).networkConfig, `${net}\n`);
    assert.equal(noCloudSeed(instance({})).networkConfig, undefined);
  });

  test('names that would not be safe in the applier are refused with the reason', () => {
    assert.throws(() => noCloudSeed(instance({ cloudInit: { userData: "#cloud-config\nusers:\n  - name: \"x'; rm -rf /\"\n" } })), (e: unknown) => e instanceof FirstBootConfigError && /not a Linux user name/.test(e.message));
    assert.throws(() => noCloudSeed(instance({ cloudInit: { users: [{ name: 'a', groups: ['$(reboot)'] }] } })), FirstBootConfigError);
  });
});

describe('seed disk', () => {
  test('an ISO 9660 volume cidata holding meta-data, user-data and the applier, readable without mounting', async () => {
    const seed = noCloudSeed(instance({ cloudInit: { hostname: 'web1', users: [{ name: 'alice', sshAuthorizedKeys: [KEY] }], userData: SCRIPT, networkConfig: 'version: 2' } }));
    const path = join(tmp, 'cidata.iso');
    await writeSeedDisk(seed, path);
    const iso = (...args: string[]): string => execFileSync('isoinfo', ['-i', path, ...args], { encoding: 'utf8' });
    assert.match(iso('-d'), /^Volume id: cidata$/m);
    const names = iso('-R', '-f').split('\n').filter(Boolean).sort();
    assert.deepEqual(names, ['/lodge-first-boot.sh', '/meta-data', '/network-config', '/user-data']);
    assert.equal(iso('-R', '-x', '/meta-data'), seed.metaData);
    assert.equal(iso('-R', '-x', '/user-data'), seed.userData);
    assert.equal(iso('-R', '-x', '/network-config'), 'version: 2\n');
    assert.equal(iso('-R', '-x', `/${LODGE_FIRST_BOOT_FILE}`), seed.lodgeFirstBoot);
    // Joliet too, for guests that read only that.
    assert.match(iso('-J', '-f'), /\/user-data/);
    // Written again in place (a new create), atomically: no staging files left.
    await writeSeedDisk(noCloudSeed(instance({ cloudInit: { hostname: 'web2' } })), path);
    assert.match(execFileSync('isoinfo', ['-i', path, '-R', '-x', '/meta-data'], { encoding: 'utf8' }), /local-hostname: web2/);
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(tmp), ['cidata.iso']);
  });
});

describe('QEMU command line', () => {
  test('the seed is a second, read-only virtio disk after the root disk; none without a seed', () => {
    const vm = { kernel: 'k', cmdline: 'rw', baseDisk: { path: 'd', format: 'qcow2' as const }, cpus: 1, memoryBytes: 256 * 2 ** 20 };
    const input = { id: 'x', paths: new Layout('/r').of('x'), logPath: '/l', accelerator: 'tcg' as const, profile: DEFAULT_BOOT_PROFILE, profileCmdline: '', tcgTbSizeMiB: 64 };
    const args = qemuArgs({ ...input, vm: { ...vm, seed: { path: '/i/cidata,1.iso', format: 'raw' } } });
    const drives = args.filter((_, n) => args[n - 1] === '-drive');
    assert.equal(drives.length, 2);
    assert.match(drives[0]!, /id=root/);
    assert.equal(drives[1], 'file=/i/cidata,,1.iso,format=raw,if=none,id=seed,readonly=on');
    assert.ok(args.includes('virtio-blk-pci,drive=seed'));
    assert.equal(qemuArgs({ ...input, vm }).filter((a) => a.includes('id=seed')).length, 0);
  });

  test('a NIC per tap, opened by name with the guest MAC; no NIC without taps', () => {
    const vm = { kernel: 'k', cmdline: 'rw', baseDisk: { path: 'd', format: 'qcow2' as const }, cpus: 1, memoryBytes: 256 * 2 ** 20 };
    const input = { id: 'x', paths: new Layout('/r').of('x'), logPath: '/l', accelerator: 'tcg' as const, profile: DEFAULT_BOOT_PROFILE, profileCmdline: '', tcgTbSizeMiB: 64 };
    const args = qemuArgs({ ...input, vm: { ...vm, nics: [{ tap: 'lt0123abcd', mac: '0e:01:02:03:04:05' }] } });
    const after = (flag: string): string[] => args.filter((_, n) => args[n - 1] === flag);
    assert.deepEqual(after('-netdev'), ['tap,id=net0,ifname=lt0123abcd,script=no,downscript=no,vhost=off']);
    assert.ok(after('-device').includes('virtio-net-pci,netdev=net0,mac=0e:01:02:03:04:05'));
    const none = qemuArgs({ ...input, vm });
    assert.equal(none.filter((a) => a.startsWith('tap,')).length, 0);
    assert.equal(none[none.indexOf('-nic') + 1], 'none');
  });
});

describe('the Lodge applier (lodge-first-boot.sh) in a busybox root', () => {
  test('host name, users with keys (600, owned by them), groups, sudo, files and the user-data script; a second run changes nothing', async () => {
    const root = join(tmp, 'root');
    await buildBusybox(root);
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nadm:x:4:\nwheel:x:10:root\nnogroup:x:65534:\n');
    const userData = '#cloud-config\nwrite_files:\n  - path: /etc/motd\n    content: hello\n    permissions: "0640"\nruncmd:\n  - echo ran >> /root/ran\n';
    const seed = noCloudSeed(instance({ cloudInit: { hostname: 'web1', users: [{ name: 'alice', sshAuthorizedKeys: [KEY], sudo: true, groups: ['adm', 'dev'] }, { name: 'bob', shell: '/bin/ash' }], userData } }));
    await writeFile(join(root, 'seed.sh'), seed.lodgeFirstBoot);
    const apply = (): string => execFileSync('chroot', [root, '/bin/sh', '/seed.sh'], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    apply();
    const read = (p: string): Promise<string> => readFile(join(root, p), 'utf8');
    assert.equal(await read('etc/hostname'), 'web1\n');
    const passwd = await read('etc/passwd');
    assert.match(passwd, /^alice:x:1000:1000::\/home\/alice:\/bin\/sh$/m);
    // dev was made for alice first, so bob's own group is the next id.
    assert.match(passwd, /^bob:x:1001:1002::\/home\/bob:\/bin\/ash$/m);
    const group = await read('etc/group');
    assert.match(group, /^adm:x:4:alice$/m);
    assert.match(group, /^wheel:x:10:root,alice$/m);
    assert.match(group, /^dev:x:\d+:alice$/m);
    assert.match(group, /^alice:x:1000:$/m);
    const keys = join(root, 'home/alice/.ssh/authorized_keys');
    assert.equal(await readFile(keys, 'utf8'), `${KEY}\n`);
    const ks = await stat(keys);
    assert.deepEqual([ks.mode & 0o777, ks.uid, ks.gid], [0o600, 1000, 1000]);
    const ds = await stat(join(root, 'home/alice/.ssh'));
    assert.deepEqual([ds.mode & 0o777, ds.uid], [0o700, 1000]);
    assert.equal(await read('etc/sudoers.d/90-lodge-alice'), 'alice ALL=(ALL) NOPASSWD:ALL\n');
    assert.equal(await read('etc/motd'), 'hello');
    assert.equal((await stat(join(root, 'etc/motd'))).mode & 0o777, 0o640);
    assert.equal(await read(FIRST_BOOT_SCRIPT.slice(1)), seed.config.script);
    assert.equal((await stat(join(root, FIRST_BOOT_SCRIPT.slice(1)))).mode & 0o777, 0o755);

    apply();
    assert.equal(await read('etc/passwd'), passwd, 'users added once');
    assert.equal(await read('etc/group'), group, 'memberships added once');
  });
});

describe('the VM address on the seed (network-config, lodge-network.sh)', () => {
  const guestNet: GuestNetwork = {
    mac: '0e:12:34:56:78:9a',
    interfaceName: 'eth0',
    address: '10.77.3.5',
    prefixLength: 24,
    gateway: '10.77.3.1',
    nameservers: ['10.96.0.10'],
    searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    options: ['ndots:5'],
  };

  test('cloud-init gets a version 2 network-config matched by MAC unless the spec has its own; Lodge images get the applier either way', async () => {
    const seed = noCloudSeed(instance({}), guestNet);
    assert.deepEqual(parse(seed.networkConfig!), {
      version: 2,
      ethernets: {
        eth0: {
          match: { macaddress: '0e:12:34:56:78:9a' },
          'set-name': 'eth0',
          addresses: ['10.77.3.5/24'],
          routes: [{ to: '0.0.0.0/0', via: '10.77.3.1' }],
          nameservers: { addresses: ['10.96.0.10'], search: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'] },
        },
      },
    });
    assert.match(seed.lodgeNetwork!, /10\.77\.3\.5\/24/);
    const theirs = noCloudSeed(instance({ cloudInit: { networkConfig: 'version: 2' } }), guestNet);
    assert.equal(theirs.networkConfig, 'version: 2\n');
    assert.ok(theirs.lodgeNetwork, 'Lodge images still get Lodge\'s address');
    // No NIC: neither.
    assert.equal(noCloudSeed(instance({})).lodgeNetwork, undefined);
    const path = join(tmp, 'net.iso');
    await writeSeedDisk(seed, path);
    assert.equal(execFileSync('isoinfo', ['-i', path, '-R', '-x', `/${LODGE_NETWORK_FILE}`], { encoding: 'utf8' }), seed.lodgeNetwork);
    // Without a cluster DNS, no nameservers key at all (cloud-init keeps the image's resolver).
    assert.equal(parse(cloudInitNetworkConfig({ ...guestNet, nameservers: [], searches: [] })).ethernets.eth0.nameservers, undefined);
  });

  test('values that would not be safe in a root shell script are refused', () => {
    assert.throws(() => lodgeNetworkScript({ ...guestNet, searches: ['x; reboot'] }), /search domain/);
    assert.throws(() => lodgeNetworkScript({ ...guestNet, address: '10.0.0.1/24' }), /address/);
    assert.throws(() => lodgeNetworkScript({ ...guestNet, mac: '0E:12:34:56:78:9A$(x)' }), /MAC/);
  });

  test('lodge-network.sh in a busybox root and its own network namespace: finds the NIC by MAC, sets the address, the default route and resolv.conf; a second run changes nothing', async () => {
    const root = join(tmp, 'netroot');
    await buildBusybox(root);
    await writeFile(join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.53\n');
    await writeFile(join(root, 'net.sh'), lodgeNetworkScript(guestNet));
    // A new netns (nothing of the host's network is touched) and mount ns (its own /sys shows that netns' interfaces); the NIC is one end of a veth with the guest's MAC, under another name.
    const inside = [
      'set -e',
      'mount -t sysfs sysfs /sys',
      'sh /net.sh >/dev/null',
      'sh /net.sh >/dev/null',
      'ip addr show nic7',
      'echo ---',
      'ip route',
      'echo ---',
      'cat /etc/resolv.conf',
    ].join('\n');
    const setup = `set -e; ip link add nic7 address ${guestNet.mac} type veth peer name peer7; ip link set peer7 up; exec chroot "$0" /bin/sh -c "$1"`;
    const out = execFileSync('unshare', ['--net', '--mount', 'sh', '-c', setup, root, inside], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    const [addr, routes, resolv] = out.split('---\n');
    assert.equal((addr!.match(/inet /g) ?? []).length, 1, `one address after two runs:\n${addr}`);
    assert.match(addr!, /inet 10\.77\.3\.5\/24 /);
    assert.match(routes!, /^default via 10\.77\.3\.1 dev nic7/m);
    assert.equal(resolv, 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  });
});
