// The `lodge` command tree. Built by a function so tests can parse argv
// without spawning a process.
import { Command } from 'commander';
import { registerApply } from './apply.js';
import { registerCreate } from './create.js';
import { registerDelete } from './delete.js';
import { registerDescribe } from './describe.js';
import { registerGet } from './get.js';
import { registerImage } from './image.js';
import { registerInfo } from './instance-info.js';
import { registerLaunch } from './instance-launch.js';
import { registerList } from './instance-list.js';
import { registerInstancePower } from './instance-power.js';
import { registerExec } from './exec.js';
import { registerPortForward } from './port-forward.js';
import { registerConsole } from './console.js';
import { registerLogs } from './logs.js';
import { registerPublish } from './publish.js';
import { registerRun } from './run.js';
import { registerSnapshot } from './snapshot.js';
import { registerCopy } from './copy.js';
import { registerExport } from './export.js';
import { registerForward } from './forward.js';
import { registerNetwork } from './network.js';
import { registerScale } from './scale.js';
import { registerRollout } from './rollout.js';
import { registerNodeMaintenance } from './node-maintenance.js';

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
  registerLazy(program, 'up', 'run a single-host Lodge: store, API server, controllers and node agent (lodge up --help for options)', async (real) => (await import('./up.js')).registerUp(real));
  registerLazy(program, 'agent', "run this host's node agent against a Lodge API server (lodge agent --help for options)", async (real) => (await import('./agent.js')).registerAgent(real));
  registerGet(program);
  registerApply(program);
  registerCreate(program);
  registerDelete(program);
  registerDescribe(program);
  registerLogs(program);
  registerExec(program);
  registerPortForward(program);
  registerRun(program);
  registerImage(program);
  registerPublish(program);
  // Instances (virtual servers): incus-style verbs over the Instance kind.
  registerLaunch(program);
  registerList(program);
  registerInstancePower(program);
  registerInfo(program);
  registerConsole(program);
  registerSnapshot(program);
  registerCopy(program);
  registerExport(program);
  registerForward(program);
  registerNetwork(program);
  registerScale(program);
  registerRollout(program);
  registerNodeMaintenance(program);
  return program;
}

/**
 * `up` and `agent` run the control plane or the node agent (SQLite, API
 * server, drivers); the client commands should neither pay for loading that
 * nor break while it is being worked on. So each is a stand-in that imports
 * its module only when run, and hands its arguments (including --help) to the
 * command that module builds.
 */
function registerLazy(program: Command, name: string, description: string, register: (real: Command) => Promise<void>): void {
  program
    .command(name)
    .description(description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (_args: string[], _opts: unknown, cmd: Command) => {
      const real = new Command('lodge');
      await register(real);
      await real.parseAsync([name, ...cmd.args], { from: 'user' });
    });
}
