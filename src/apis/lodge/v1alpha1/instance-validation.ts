// Semantic checks of Instances: sane sizes for the instance type, unique
// device names, well-formed guest users, schedules and forwards.
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { FieldError } from '../../types.js';
import { duplicate, forbidden, immutable, inRange, invalid, nonNegative, required } from '../../core/v1/field-errors.js';
import { check, dns1123Label, dns1123Subdomain, validateLabelMap } from '../../core/v1/name-validation.js';
import { parseQuantity } from '../../core/v1/quantity.js';
import type { InstanceSpec } from './instance-types.js';
import { cronProblem, parseDuration } from './schedule.js';

const MI = 2 ** 20;
export const VM_LIMITS = { minMemory: 64 * MI, maxCpus: 512 };

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SSH_KEY = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function positiveQuantity(field: string, v: number | string | undefined): { errors: FieldError[]; value?: number } {
  if (v === undefined) return { errors: [] };
  const q = parseQuantity(v);
  if (q === undefined) return { errors: [invalid(field, v, 'must be a quantity, e.g. 2, 500m, 4Gi')] };
  if (q <= 0) return { errors: [invalid(field, v, 'must be greater than zero')] };
  return { errors: [], value: q };
}

function validateSizes(spec: InstanceSpec): FieldError[] {
  const vm = spec.type === 'vm';
  const cpu = positiveQuantity('spec.cpu', spec.cpu);
  const memory = positiveQuantity('spec.memory', spec.memory);
  const disk = positiveQuantity('spec.diskSize', spec.diskSize);
  const errs = [...cpu.errors, ...memory.errors, ...disk.errors];
  if (vm && cpu.value !== undefined) {
    if (!Number.isInteger(cpu.value)) errs.push(invalid('spec.cpu', spec.cpu, 'a virtual machine needs a whole number of vCPUs'));
    else if (cpu.value > VM_LIMITS.maxCpus) errs.push(invalid('spec.cpu', spec.cpu, `must be at most ${VM_LIMITS.maxCpus} vCPUs`));
  }
  if (vm && memory.value !== undefined) {
    if (memory.value < VM_LIMITS.minMemory) errs.push(invalid('spec.memory', spec.memory, 'a virtual machine needs at least 64Mi of memory'));
    else if (memory.value % MI !== 0) errs.push(invalid('spec.memory', spec.memory, 'must be a whole number of MiB for a virtual machine'));
  }
  if (vm && disk.value !== undefined && disk.value < MI) errs.push(invalid('spec.diskSize', spec.diskSize, 'must be at least 1Mi'));
  return errs;
}

function validateNetworks(spec: InstanceSpec): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (spec.networks ?? []).forEach((n, i) => {
    const p = `spec.networks[${i}]`;
    if (n.name !== undefined) {
      if (n.name.length > 15) errs.push(invalid(`${p}.name`, n.name, 'must be no more than 15 characters (a Linux interface name)'));
      else errs.push(...check(`${p}.name`, n.name, dns1123Label));
      if (names.has(n.name)) errs.push(duplicate(`${p}.name`, n.name));
      names.add(n.name);
    }
    errs.push(...check(`${p}.network`, n.network, dns1123Subdomain));
    if (n.macAddress !== undefined && !MAC.test(n.macAddress)) errs.push(invalid(`${p}.macAddress`, n.macAddress, 'must be a MAC address like 52:54:00:12:34:56'));
    if (n.ipAddress !== undefined && !isIP(n.ipAddress)) errs.push(invalid(`${p}.ipAddress`, n.ipAddress, 'must be a valid IP address'));
  });
  return errs;
}

function validateDisks(spec: InstanceSpec): FieldError[] {
  const errs: FieldError[] = [];
  const vm = spec.type === 'vm';
  const names = new Set<string>();
  const paths = new Set<string>();
  (spec.disks ?? []).forEach((d, i) => {
    const p = `spec.disks[${i}]`;
    if (d.name !== undefined) {
      errs.push(...check(`${p}.name`, d.name, dns1123Label));
      if (d.name === 'root') errs.push(invalid(`${p}.name`, d.name, 'is reserved for the root disk (see spec.diskSize)'));
      if (names.has(d.name)) errs.push(duplicate(`${p}.name`, d.name));
      names.add(d.name);
    }
    if (d.size === undefined && !d.image) errs.push(required(`${p}.size`, 'an empty disk needs a size'));
    errs.push(...positiveQuantity(`${p}.size`, d.size).errors);
    errs.push(...check(`${p}.storagePool`, d.storagePool, dns1123Subdomain));
    if (vm) {
      if (d.path !== undefined) errs.push(forbidden(`${p}.path`, 'may not be set for virtual machines; the guest mounts its disks'));
      if (d.bootOrder !== undefined && d.bootOrder < 1) errs.push(invalid(`${p}.bootOrder`, d.bootOrder, 'must be greater than 0'));
    } else {
      if (d.bus !== undefined) errs.push(forbidden(`${p}.bus`, 'may only be set for virtual machines'));
      if (d.bootOrder !== undefined) errs.push(forbidden(`${p}.bootOrder`, 'may only be set for virtual machines'));
      if (!d.path) errs.push(required(`${p}.path`, 'a container disk needs a mount path'));
      else if (!d.path.startsWith('/')) errs.push(invalid(`${p}.path`, d.path, 'must be an absolute path'));
      else if (paths.has(d.path)) errs.push(duplicate(`${p}.path`, d.path));
      if (d.path) paths.add(d.path);
    }
  });
  return errs;
}

function validateCloudInit(spec: InstanceSpec): FieldError[] {
  const ci = spec.cloudInit;
  if (!ci) return [];
  const errs: FieldError[] = [];
  if (ci.hostname !== undefined) errs.push(...check('spec.cloudInit.hostname', ci.hostname, dns1123Subdomain));
  const names = new Set<string>();
  (ci.users ?? []).forEach((u, i) => {
    const p = `spec.cloudInit.users[${i}]`;
    if (u.name !== undefined) {
      if (!LINUX_USER.test(u.name)) errs.push(invalid(`${p}.name`, u.name, 'must be a Linux user name: lower case letters, digits, \'_\' and \'-\', starting with a letter or \'_\', at most 32 characters'));
      if (names.has(u.name)) errs.push(duplicate(`${p}.name`, u.name));
      names.add(u.name);
    }
    (u.sshAuthorizedKeys ?? []).forEach((k, j) => {
      if (!SSH_KEY.test(k.trim())) errs.push(invalid(`${p}.sshAuthorizedKeys[${j}]`, k.length > 40 ? `${k.slice(0, 40)}...` : k, 'must be an OpenSSH public key, e.g. "ssh-ed25519 AAAA... comment"'));
    });
  });
  if (ci.userData !== undefined && Buffer.byteLength(ci.userData) > 64 * 1024)
    errs.push(invalid('spec.cloudInit.userData', '<user data>', 'must be at most 64KiB'));
  const data = ci.userData?.trim();
  if (data) {
    if (!data.startsWith('#!') && !data.startsWith('#cloud-config')) errs.push(invalid('spec.cloudInit.userData', '<user data>', 'must be a script (starting with #!) or a #cloud-config document'));
    else if (data.startsWith('#cloud-config')) {
      try {
        const doc: unknown = parseYaml(data);
        if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) errs.push(invalid('spec.cloudInit.userData', '<user data>', 'a #cloud-config document must be a YAML mapping'));
      } catch (e) {
        errs.push(invalid('spec.cloudInit.userData', '<user data>', `#cloud-config is not valid YAML: ${(e as Error).message.split('\n')[0]}`));
      }
    }
  }
  return errs;
}

function validateSnapshotPolicy(spec: InstanceSpec): FieldError[] {
  const s = spec.snapshots;
  if (!s) return [];
  const errs: FieldError[] = [];
  if (s.schedule !== undefined) {
    const problem = cronProblem(s.schedule);
    if (problem) errs.push(invalid('spec.snapshots.schedule', s.schedule, problem));
  }
  if (s.expiry !== undefined && !parseDuration(s.expiry))
    errs.push(invalid('spec.snapshots.expiry', s.expiry, 'must be a duration like 30m, 12h, 7d or 2w'));
  if (s.expiry !== undefined && s.schedule === undefined) errs.push(required('spec.snapshots.schedule', 'expiry applies to scheduled snapshots'));
  return errs;
}

function validateForwards(spec: InstanceSpec): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  (spec.forwards ?? []).forEach((f, i) => {
    const p = `spec.forwards[${i}]`;
    errs.push(...inRange(`${p}.hostPort`, f.hostPort, 1, 65535), ...inRange(`${p}.port`, f.port, 1, 65535));
    if (f.hostIP !== undefined && !isIP(f.hostIP)) errs.push(invalid(`${p}.hostIP`, f.hostIP, 'must be a valid IP address'));
    const key = `${f.hostIP ?? ''}:${f.hostPort}/${f.protocol ?? 'TCP'}`;
    if (seen.has(key)) errs.push(duplicate(p, `${f.hostPort}/${f.protocol ?? 'TCP'}`));
    seen.add(key);
  });
  return errs;
}

function validateSource(spec: InstanceSpec): FieldError[] {
  const s = spec.source;
  if (!s) return [];
  if (!s.instanceName) return [required('spec.source.instanceName')];
  return [...check('spec.source.instanceName', s.instanceName, dns1123Subdomain), ...check('spec.source.snapshotName', s.snapshotName || undefined, dns1123Subdomain)];
}

export function validateInstanceSpec(spec: InstanceSpec | undefined): FieldError[] {
  if (!spec) return [required('spec')];
  return [
    ...(spec.image !== undefined && !spec.image ? [required('spec.image')] : []),
    ...check('spec.image', spec.image || undefined, dns1123Subdomain),
    ...validateSizes(spec),
    ...check('spec.nodeName', spec.nodeName || undefined, dns1123Subdomain),
    ...validateLabelMap('spec.nodeSelector', spec.nodeSelector),
    ...validateNetworks(spec),
    ...validateDisks(spec),
    ...validateCloudInit(spec),
    ...validateSnapshotPolicy(spec),
    ...validateForwards(spec),
    ...validateSource(spec),
    ...nonNegative('spec.terminationGracePeriodSeconds', spec.terminationGracePeriodSeconds),
  ];
}

export function validateInstanceUpdate(spec: InstanceSpec | undefined, old: InstanceSpec | undefined): FieldError[] {
  if (!spec || !old) return [];
  const errs: FieldError[] = [];
  if (spec.type !== old.type) errs.push(immutable('spec.type', spec.type));
  if ((spec.priorityClassName ?? '') !== (old.priorityClassName ?? '')) errs.push(immutable('spec.priorityClassName', spec.priorityClassName));
  if (spec.priority !== undefined && spec.priority !== old.priority) errs.push(immutable('spec.priority', spec.priority));
  if (spec.preemptionPolicy !== undefined && spec.preemptionPolicy !== old.preemptionPolicy) errs.push(immutable('spec.preemptionPolicy', spec.preemptionPolicy));
  if (JSON.stringify(spec.source ?? null) !== JSON.stringify(old.source ?? null)) errs.push(immutable('spec.source', spec.source));
  const before = parseQuantity(old.diskSize);
  const after = parseQuantity(spec.diskSize);
  if (before !== undefined && (after === undefined || after < before))
    errs.push(forbidden('spec.diskSize', `may not shrink (was ${String(old.diskSize)})`));
  return errs;
}
