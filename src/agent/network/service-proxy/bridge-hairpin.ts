// A Pod reaching itself through its Service's VIP needs hairpin mode on its
// bridge port (why: veth.ts HAIRPIN). veth.ts and tap.ts set it where they make
// a port; this sweep, run once when the proxy starts, covers ports an older
// Lodge made without it. Only the ports of Lodge's own bridge are touched, and
// the setting goes away with each port.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { checkIfname } from '../iproute.js';

/** Turn hairpin mode on for every port of the bridge that lacks it; the ports changed. */
export async function enableHairpin(bridge: string): Promise<string[]> {
  const dir = `/sys/class/net/${checkIfname(bridge, 'bridge')}/brif`;
  let ports: string[];
  try {
    ports = await readdir(dir);
  } catch (e) {
    throw new Error(`bridge ${bridge}: cannot list its ports: ${(e as Error).message}`);
  }
  const changed: string[] = [];
  for (const port of ports) {
    const file = `${dir}/${port}/hairpin_mode`;
    try {
      if ((await readFile(file, 'utf8')).trim() === '1') continue;
      await writeFile(file, '1\n');
      changed.push(port);
    } catch (e) {
      // A veth removed meanwhile is no error: its workload is gone.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`bridge ${bridge} port ${port}: cannot set hairpin mode: ${(e as Error).message}`);
    }
  }
  return changed;
}
