// How an Instance is named on its node. Everything is derived from the
// Instance's uid, so an agent that lost its memory (SIGKILL, reboot) finds
// its workloads, cgroups and namespaces again from the uid alone, and never
// confuses them with a Pod's (those are p-<uid>-<container>, pod-<uid>).
import { CGROUP_ROOT } from '../pod-sandbox.js';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const INSTANCE_ID = new RegExp(`^i-(${UUID})$`);

/** The driver workload id of an Instance: "i-<uid>". */
export function instanceId(uid: string): string {
  return `i-${uid}`;
}

export function parseInstanceId(id: string): string | undefined {
  return INSTANCE_ID.exec(id)?.[1];
}

/** Its cgroup, beside the Pods' under /lodge. */
export function instanceCgroup(uid: string): string {
  return `${CGROUP_ROOT}/i-${uid}`;
}

/** Its network namespace (loopback only until Lodge has networks). */
export function instanceNetnsName(uid: string): string {
  return `lodge-i-${uid}`;
}

export function instanceNetnsPath(uid: string): string {
  return `/run/netns/${instanceNetnsName(uid)}`;
}
