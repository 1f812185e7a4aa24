// First-boot configuration written into a system container's persistent
// root layer (the overlay's upper dir) before its first boot: the same data a
// VM's cloud-init reads from its seed disk, placed where the guest's own
// files are. Users are added to the image's passwd/group/shadow (copied up),
// with their SSH keys; the user-data script is installed for the init to run
// once (FIRST_BOOT_SCRIPT, .done marks it run). Written once per instance:
// a marker in the instance's dir, outside the guest, records it.
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FirstBootConfig, FirstBootUser } from './config.js';

/** Where the user-data script lives in the guest; the init runs it once and leaves FIRST_BOOT_SCRIPT.done. */
export const FIRST_BOOT_SCRIPT = '/var/lib/lodge/user-data';

/** The guest's view of a file: the upper layer's copy, else the topmost lower layer that has it. */
async function readGuest(upper: string, lowers: string[], path: string): Promise<string | undefined> {
  for (const dir of [upper, ...lowers]) {
    const text = await readFile(join(dir, path), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
  }
  return undefined;
}

async function writeGuest(upper: string, path: string, content: string, mode: number, owner?: { uid: number; gid: number }): Promise<void> {
  const full = join(upper, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content, { mode });
  await chmod(full, mode);
  if (owner) await chown(full, owner.uid, owner.gid);
}

interface Account {
  passwd: string[];
  group: string[];
  shadow: string[] | undefined;
}

function nextId(lines: string[], field: number): number {
  const used = new Set(lines.map((l) => Number(l.split(':')[field])).filter(Number.isInteger));
  let id = 1000;
  while (used.has(id)) id++;
  return id;
}

function addUser(acc: Account, u: FirstBootUser): { uid: number; gid: number; home: string } {
  const existing = acc.passwd.find((l) => l.split(':')[0] === u.name);
  if (existing) {
    const f = existing.split(':');
    return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] || `/home/${u.name}` };
  }
  const uid = nextId(acc.passwd, 2);
  const gid = acc.group.some((l) => l.split(':')[0] === u.name) ? Number(acc.group.find((l) => l.split(':')[0] === u.name)!.split(':')[2]) : nextId(acc.group, 2);
  if (!acc.group.some((l) => l.split(':')[0] === u.name)) acc.group.push(`${u.name}:x:${gid}:`);
  const home = `/home/${u.name}`;
  acc.passwd.push(`${u.name}:x:${uid}:${gid}::${home}:${u.shell ?? '/bin/sh'}`);
  // A locked password: logins go through the SSH keys (or lodge exec/console).
  acc.shadow?.push(`${u.name}:!:19000:0:99999:7:::`);
  const extra = [...u.groups, ...(u.sudo ? ['sudo', 'wheel'] : [])];
  acc.group = acc.group.map((l) => {
    const f = l.split(':');
    if (!extra.includes(f[0]!)) return l;
    const members = (f[3] ?? '').split(',').filter(Boolean);
    if (!members.includes(u.name)) members.push(u.name);
    return [f[0], f[1], f[2], members.join(',')].join(':');
  });
  return { uid, gid, home };
}

const lines = (t: string | undefined): string[] => (t ?? '').split('\n').filter((l) => l.trim() !== '');

export async function writeFirstBoot(cfg: FirstBootConfig, upper: string, lowers: string[]): Promise<void> {
  await writeGuest(upper, '/etc/hostname', `${cfg.hostname}\n`, 0o644);
  if (cfg.users.length) {
    const shadowText = await readGuest(upper, lowers, '/etc/shadow');
    const acc: Account = { passwd: lines(await readGuest(upper, lowers, '/etc/passwd')), group: lines(await readGuest(upper, lowers, '/etc/group')), shadow: shadowText === undefined ? undefined : lines(shadowText) };
    if (!acc.passwd.length) acc.passwd.push('root:x:0:0:root:/root:/bin/sh');
    if (!acc.group.length) acc.group.push('root:x:0:');
    const homes: Array<{ u: FirstBootUser; uid: number; gid: number; home: string }> = [];
    for (const u of cfg.users) homes.push({ u, ...addUser(acc, u) });
    await writeGuest(upper, '/etc/passwd', `${acc.passwd.join('\n')}\n`, 0o644);
    await writeGuest(upper, '/etc/group', `${acc.group.join('\n')}\n`, 0o644);
    if (acc.shadow) await writeGuest(upper, '/etc/shadow', `${acc.shadow.join('\n')}\n`, 0o640);
    for (const { u, uid, gid, home } of homes) {
      await mkdir(join(upper, home, '.ssh'), { recursive: true });
      await chown(join(upper, home), uid, gid);
      await chmod(join(upper, home, '.ssh'), 0o700);
      await chown(join(upper, home, '.ssh'), uid, gid);
      if (u.sshAuthorizedKeys.length) await writeGuest(upper, join(home, '.ssh', 'authorized_keys'), `${u.sshAuthorizedKeys.join('\n')}\n`, 0o600, { uid, gid });
      if (u.sudo) await writeGuest(upper, `/etc/sudoers.d/90-lodge-${u.name}`, `${u.name} ALL=(ALL) NOPASSWD:ALL\n`, 0o440);
    }
  }
  for (const f of cfg.files) await writeGuest(upper, f.path, f.content, f.mode);
  if (cfg.script) await writeGuest(upper, FIRST_BOOT_SCRIPT, cfg.script, 0o755);
}

/** Write it unless this instance's marker says it was written before (first boot only, as cloud-init does per instance id). */
export async function writeFirstBootOnce(cfg: FirstBootConfig, upper: string, lowers: string[], marker: string): Promise<boolean> {
  if (await stat(marker).then(() => true, () => false)) return false;
  await writeFirstBoot(cfg, upper, lowers);
  await writeFile(marker, new Date().toISOString());
  return true;
}
