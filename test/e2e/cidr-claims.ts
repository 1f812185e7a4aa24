// Cluster and Service CIDRs for throwaway Lodges (tests, benches) that run
// side by side on one host. A cluster CIDR shows in the host's routes once its
// bridge is up, a Service CIDR never does, so each one handed out is also
// claimed by a file named after it (holding the claimer's pid) that every
// process consults: no two running Lodges share a Service range, and so none
// captures another's VIPs. Claims of exited processes are taken over.
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeClusterCidr } from '../../src/agent/network/free-cidr.js';

const DIR = join(tmpdir(), 'lodge-cidr-claims');
const mine = new Set<string>();

const fileOf = (cidr: string): string => join(DIR, cidr.replace('/', '_'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** CIDRs claimed by live processes (this one included). */
function claimed(): Set<string> {
  mkdirSync(DIR, { recursive: true });
  const out = new Set<string>();
  for (const f of readdirSync(DIR)) {
    const pid = Number(readFileSync(join(DIR, f), 'utf8').trim() || 'NaN');
    if (Number.isInteger(pid) && alive(pid)) out.add(f.replace('_', '/'));
    else if (Number.isInteger(pid)) unlinkSync(join(DIR, f));
  }
  return out;
}

function tryClaim(cidr: string): boolean {
  try {
    const fd = openSync(fileOf(cidr), 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    mine.add(cidr);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** A free 10.X.0.0/16 (see freeClusterCidr) claimed for this process until it exits. */
export function claimFreeCidr(seed: number): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const cidr = freeClusterCidr(seed + attempt, claimed());
    if (tryClaim(cidr)) return cidr;
  }
  throw new Error(`no claimable free /16 (claims in ${DIR})`);
}

/**
 * A NodePort range of 30 ports for a Lodge whose Service CIDR is the claimed
 * 10.X.0.0/16 (X in 112-199): as distinct as the Service ranges, so two
 * Lodges' NodePorts never meet on the host's addresses.
 */
export function nodePortRangeFor(serviceCidr: string): string {
  const x = Number(serviceCidr.split('.')[1]);
  const start = 30000 + (x - 112) * 30;
  return `${start}-${start + 29}`;
}

process.on('exit', () => {
  for (const c of mine) {
    try {
      unlinkSync(fileOf(c));
    } catch {
      /* already gone */
    }
  }
});
