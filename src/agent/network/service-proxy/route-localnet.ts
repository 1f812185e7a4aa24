// 127.0.0.1:nodePort from the host: after DNAT the packet leaves through the
// bridge with source 127.0.0.1, which the kernel drops as a martian unless
// route_localnet is on for that interface (the masquerade then gives it the
// bridge's address, and the reply is un-NATed back to 127.0.0.1). Only
// Lodge's own bridge gets it: the host-wide and other interfaces' settings
// are never touched, and it goes away with the bridge.
import { readFile, writeFile } from 'node:fs/promises';
import { checkIfname } from '../iproute.js';

export async function enableRouteLocalnet(bridge: string): Promise<boolean> {
  const path = `/proc/sys/net/ipv4/conf/${checkIfname(bridge, 'bridge')}/route_localnet`;
  try {
    if ((await readFile(path, 'utf8')).trim() === '1') return false;
    await writeFile(path, '1\n');
    return true;
  } catch (e) {
    throw new Error(`bridge ${bridge}: cannot turn on route_localnet (needed for 127.0.0.1:nodePort): ${(e as Error).message}`);
  }
}
