// `lodge list`: the Instances as `lodge get instances` shows them (NAME TYPE
// STATE IP NODE AGE; -o wide|yaml|json|name|...), the server's Table.
import type { Command } from 'commander';
import { withContext } from './context.js';
import { runGet } from './get.js';

export function registerList(program: Command): void {
  program
    .command('list')
    .alias('ls')
    .description('List instances (virtual machines and system containers)')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-l, --selector <selector>', 'label selector, e.g. env=test')
    .option('-o, --output <format>', 'wide|yaml|json|name|jsonpath=TEMPLATE|custom-columns=SPEC')
    .option('--no-headers', 'omit table headers')
    .action(async (opts: { allNamespaces?: boolean; selector?: string; output?: string; headers?: boolean }, cmd: Command) => {
      await withContext(cmd, (ctx) => runGet(ctx, ['instances.lodge.dev'], opts));
    });
}
