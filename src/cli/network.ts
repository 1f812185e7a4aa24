// `lodge network cleanup`: remove what the node agent made on this host's
// network — the bridge, Lodge's nft table, and its hold on ip_forward (put
// back as it was before Lodge when no other Lodge network still needs it).
// Workloads' veths are not deleted (they go with their namespaces): run it
// after stopping Lodge and removing its workloads.
import type { Command } from 'commander';
import { registerNetworkObjects } from './network-objects.js';

export function registerNetwork(program: Command): void {
  const net = program.command('network').description('Networks (bridges that instances join): create, ls, show, rm; cleanup of this host');
  registerNetworkObjects(net);
  net
    .command('cleanup')
    .description("remove Lodge's Pod network bridge and nft table from this host and give back ip_forward (after stopping Lodge)")
    .option('--bridge <name>', 'the bridge to remove', 'lodge0')
    .option('--nat-table <name>', 'the nft table (inet family) to remove', 'lodge')
    .option('--data-dir <dir>', "Lodge's data dir: the bridges and tables of its Networks recorded there go too", '/var/lib/lodge')
    .action(async (opts: { bridge: string; natTable: string; dataDir: string }) => {
      try {
        // The host-side code only when cleaning up: the client commands stay light.
        const [{ removeBridge }, { removeNat }] = await Promise.all([import('../agent/network/bridge.js'), import('../agent/network/nat.js')]);
        const bridge = await removeBridge(opts.bridge);
        // Forwarding is given back with the table: the table's holder is released, restored when it was the last.
        const table = await removeNat(opts.natTable, { ipForward: {} });
        process.stdout.write(`bridge ${opts.bridge}: ${bridge ? 'removed' : 'not present'}\nnft table inet ${opts.natTable}: ${table ? 'removed' : 'not present'}\n`);
        // The user's Networks this node made (recorded before they were made).
        const { readMadeNetworks, networkTablesOf } = await import('../agent/networks/node-networks.js');
        for (const [name, made] of Object.entries(await readMadeNetworks(opts.dataDir))) {
          if (made.table) await removeNat(made.table, { ipForward: {} });
          const gone = await removeBridge(made.bridge);
          process.stdout.write(`network ${name}: bridge ${made.bridge} ${gone ? 'removed' : 'not present'}${made.table ? `, nft table inet ${made.table} removed` : ''}\n`);
        }
        // Their NAT tables are named after the Pod network's: found even when the data dir is gone.
        for (const t of await networkTablesOf(opts.natTable)) if (await removeNat(t, { ipForward: {} })) process.stdout.write(`nft table inet ${t}: removed\n`);
      } catch (e) {
        process.stderr.write(`lodge network cleanup: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
