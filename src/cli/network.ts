// `lodge network cleanup`: remove what the node agent made on this host's
// network — the bridge, Lodge's nft table, and its hold on ip_forward (put
// back as it was before Lodge when no other Lodge network still needs it).
// Workloads' veths are not deleted (they go with their namespaces): run it
// after stopping Lodge and removing its workloads.
import type { Command } from 'commander';
import { removeBridge } from '../agent/network/bridge.js';
import { removeNat } from '../agent/network/nat.js';
import { DEFAULT_BRIDGE, DEFAULT_NAT_TABLE } from '../agent/node-network.js';

export function registerNetwork(program: Command): void {
  const net = program.command('network').description("this host's Lodge network (bridge, NAT table)");
  net
    .command('cleanup')
    .description("remove Lodge's bridge and nft table from this host and give back ip_forward")
    .option('--bridge <name>', 'the bridge to remove', DEFAULT_BRIDGE)
    .option('--nat-table <name>', 'the nft table (inet family) to remove', DEFAULT_NAT_TABLE)
    .action(async (opts: { bridge: string; natTable: string }) => {
      try {
        const bridge = await removeBridge(opts.bridge);
        // Forwarding is given back with the table: the table's holder is released, restored when it was the last.
        const table = await removeNat(opts.natTable, { ipForward: {} });
        process.stdout.write(`bridge ${opts.bridge}: ${bridge ? 'removed' : 'not present'}\nnft table inet ${opts.natTable}: ${table ? 'removed' : 'not present'}\n`);
      } catch (e) {
        process.stderr.write(`lodge network cleanup: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
