// The `lodge` command tree. Built by a function so tests can parse argv
// without spawning a process.
import { Command } from 'commander';
import { registerApply } from './apply.js';
import { registerCreate } from './create.js';
import { registerDelete } from './delete.js';
import { registerDescribe } from './describe.js';
import { registerGet } from './get.js';
import { registerLogs } from './logs.js';
import { registerRun } from './run.js';

export function buildProgram(): Command {
  const program = new Command('lodge')
    .description('One control plane for virtual machines and containers, with an API that speaks Kubernetes.')
    // Options defined here are recognised before and after the subcommand
    // (`lodge get pods -n x` as well as `lodge -n x get pods`), as in kubectl.
    .option('--kubeconfig <file>', 'kubeconfig to use (default: $KUBECONFIG, ~/.lodge/kubeconfig, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context to use instead of current-context')
    .option('-n, --namespace <namespace>', 'namespace to work in (default: the context\'s, else "default")')
    .option('--request-timeout <duration>', 'give up on a request after this long, e.g. 30s (0 = no limit)', '0')
    .showHelpAfterError();
  registerLazyUp(program);
  registerGet(program);
  registerApply(program);
  registerCreate(program);
  registerDelete(program);
  registerDescribe(program);
  registerLogs(program);
  registerRun(program);
  return program;
}

/**
 * `up` runs the whole control plane (SQLite, API server, controllers); the
 * client commands should neither pay for loading that nor break while it is
 * being worked on. So `up` is a stand-in that imports ./up.js only when run,
 * and hands its arguments (including --help) to the command registerUp builds.
 */
function registerLazyUp(program: Command): void {
  program
    .command('up')
    .description('run a single-host Lodge: store, API server and controllers (lodge up --help for options)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _opts: unknown, cmd: Command) => {
      const { registerUp } = await import('./up.js');
      const real = new Command('lodge');
      registerUp(real);
      await real.parseAsync(['up', ...cmd.args], { from: 'user' });
    });
}
