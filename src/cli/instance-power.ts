// `lodge start|stop|restart|pause|resume NAME`: imperative verbs as edits of
// the Instance (see apis/lodge/v1alpha1/instance-annotations.ts), each
// followed by a wait for the state the agent reports:
//  stop [--force]: runStrategy Halted, the previous strategy kept in
//    lodge.dev/lastRunStrategy; --force: lodge.dev/stopGracePeriodSeconds=0.
//  start: restores that strategy; an instance that is not Halted but not
//    running (Manual, RerunOnFailure after a clean exit) gets a restart request.
//  restart: a new lodge.dev/restartedAt, acted on once by the agent.
//  pause|resume: spec.paused.
import type { Command } from 'commander';
import { stopPatch } from './instance-stop-patch.js';
import { LAST_RUN_STRATEGY, RESTARTED_AT, STOP_GRACE_PERIOD } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { Instance } from '../apis/lodge/v1alpha1/instance-types.js';
import type { KubeClient } from '../client/client.js';
import { INSTANCES } from '../client/refs.js';
import { withContext } from './context.js';
import { parseDuration } from './duration.js';
import { getInstance, stateOf, waitForInstance } from './instance-common.js';

interface WaitOptions {
  wait: boolean;
  timeout: string;
}

const MERGE = 'application/merge-patch+json' as const;

async function patch(client: KubeClient, namespace: string, name: string, body: Record<string, unknown>): Promise<Instance> {
  return client.patch<Instance>(INSTANCES, name, body, MERGE, { namespace });
}

const now = (): string => new Date().toISOString();
const running = (i: Instance): boolean => i.status?.phase === 'Running';

function verb(program: Command, name: string, description: string, extra?: (c: Command) => Command): Command {
  const c = program
    .command(name)
    .description(description)
    .argument('<name>', 'the instance')
    .option('--no-wait', 'return once the change is made, without waiting for the result')
    .option('--timeout <duration>', 'how long to wait for the result', '5m');
  return extra ? extra(c) : c;
}

export function registerInstancePower(program: Command): void {
  verb(program, 'start', 'Start a stopped instance').action(async (name: string, opts: WaitOptions, cmd: Command) => {
    await withContext(cmd, async (ctx) => {
      const i = await getInstance(ctx.client, ctx.namespace, name);
      const ann = i.metadata.annotations ?? {};
      if (i.spec?.runStrategy === 'Halted') {
        const restore = ann[LAST_RUN_STRATEGY] && ann[LAST_RUN_STRATEGY] !== 'Halted' ? ann[LAST_RUN_STRATEGY] : 'Always';
        await patch(ctx.client, ctx.namespace, name, { metadata: { annotations: { [LAST_RUN_STRATEGY]: null, [STOP_GRACE_PERIOD]: null } }, spec: { runStrategy: restore } });
      } else if (running(i) || i.status?.phase === 'Paused') {
        process.stdout.write(`instance.lodge.dev/${name} is already ${stateOf(i)}\n`);
        return;
      } else {
        // Not held stopped, yet not running (its init exited and the strategy leaves it): ask for a fresh boot.
        await patch(ctx.client, ctx.namespace, name, { metadata: { annotations: { [RESTARTED_AT]: now(), [STOP_GRACE_PERIOD]: null } } });
      }
      process.stdout.write(`instance.lodge.dev/${name} starting\n`);
      if (opts.wait) await waitForInstance(ctx.client, ctx.namespace, name, 'Running', running, parseDuration(opts.timeout));
      if (opts.wait) process.stdout.write(`instance.lodge.dev/${name} running\n`);
    });
  });

  verb(program, 'stop', 'Stop an instance (a clean shutdown; --force kills it at once)', (c) => c.option('--force', 'no grace period: kill it at once')).action(
    async (name: string, opts: WaitOptions & { force?: boolean }, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        await patch(ctx.client, ctx.namespace, name, stopPatch(i, opts.force ? 0 : -1));
        process.stdout.write(`instance.lodge.dev/${name} stopping\n`);
        if (!opts.wait) return;
        await waitForInstance(ctx.client, ctx.namespace, name, 'Stopped', (x) => x.status?.phase === 'Stopped' && x.status.reason === 'Halted', parseDuration(opts.timeout));
        process.stdout.write(`instance.lodge.dev/${name} stopped\n`);
      });
    },
  );

  verb(program, 'restart', 'Restart an instance (a clean shutdown, then a fresh boot)').action(async (name: string, opts: WaitOptions, cmd: Command) => {
    await withContext(cmd, async (ctx) => {
      const i = await getInstance(ctx.client, ctx.namespace, name);
      if (i.spec?.runStrategy === 'Halted') throw new Error(`instance "${name}" is stopped (runStrategy Halted): use lodge start`);
      const before = i.status?.startedAt;
      await patch(ctx.client, ctx.namespace, name, { metadata: { annotations: { [RESTARTED_AT]: now() } } });
      process.stdout.write(`instance.lodge.dev/${name} restarting\n`);
      if (!opts.wait) return;
      await waitForInstance(ctx.client, ctx.namespace, name, 'running again', (x) => running(x) && x.status?.startedAt !== before, parseDuration(opts.timeout));
      process.stdout.write(`instance.lodge.dev/${name} running\n`);
    });
  });

  for (const [v, paused, state] of [
    ['pause', true, 'Paused'],
    ['resume', false, 'Running'],
  ] as const) {
    verb(program, v, paused ? 'Freeze a running instance' : 'Thaw a paused instance').action(async (name: string, opts: WaitOptions, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        if (paused && !running(i) && i.status?.phase !== 'Paused') throw new Error(`instance "${name}" is ${stateOf(i)}, not running: only a running instance can be paused`);
        await patch(ctx.client, ctx.namespace, name, { spec: { paused: paused ? true : null } });
        process.stdout.write(`instance.lodge.dev/${name} ${paused ? 'pausing' : 'resuming'}\n`);
        if (!opts.wait) return;
        await waitForInstance(ctx.client, ctx.namespace, name, state, (x) => x.status?.phase === state, parseDuration(opts.timeout));
        process.stdout.write(`instance.lodge.dev/${name} ${state.toLowerCase()}\n`);
      });
    });
  }
}
