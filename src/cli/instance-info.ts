// `lodge info NAME`: one instance, described: type, image, state, node,
// accelerator, limits, run strategy, conditions, age.
import type { Command } from 'commander';
import { age } from '../apis/columns.js';
import { LAST_RUN_STRATEGY } from '../apis/lodge/v1alpha1/instance-annotations.js';
import type { KubeObject } from '../apis/types.js';
import { withContext } from './context.js';
import { getInstance, stateOf } from './instance-common.js';
import type { KubeList } from '../client/client.js';
import { SNAPSHOTS } from '../client/refs.js';
import type { Snapshot } from '../apis/lodge/v1alpha1/snapshot.js';
import { shortSnapshotName } from './snapshot.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('Show the details of an instance')
    .argument('<name>', 'the instance')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withContext(cmd, async (ctx) => {
        const i = await getInstance(ctx.client, ctx.namespace, name);
        const s = i.spec ?? {};
        const st = i.status ?? {};
        const row = (k: string, v: unknown): string => `${`${k}:`.padEnd(16)}${String(v)}\n`;
        let out = row('Name', name) + row('Namespace', i.metadata.namespace ?? ctx.namespace);
        out += row('Type', s.type === 'vm' ? 'virtual machine' : 'system container');
        out += row('Image', s.image ?? '');
        out += row('State', stateOf(i) + (st.reason && st.reason !== stateOf(i) ? ` (${st.reason})` : ''));
        if (st.message) out += row('Message', st.message);
        out += row('Node', st.nodeName ?? '<none>');
        out += row('IP', st.ip ?? '<none>');
        out += row('Accelerator', st.accelerator ?? (s.type === 'vm' ? '<unknown>' : 'none'));
        out += row('CPU', s.cpu ?? (s.type === 'vm' ? '1' : '<unlimited>'));
        out += row('Memory', s.memory ?? '<unlimited>');
        out += row('Disk', s.diskSize ?? '<pool default>');
        const last = i.metadata.annotations?.[LAST_RUN_STRATEGY];
        out += row('Run Strategy', `${s.runStrategy ?? 'Always'}${s.runStrategy === 'Halted' && last ? ` (was ${last})` : ''}`);
        if (s.paused) out += row('Paused', 'true');
        if (st.startedAt) out += row('Started', st.startedAt);
        out += row('Restarts', st.restartCount ?? 0);
        out += row('Age', age(i as KubeObject, Date.now()));
        if (s.source) out += row('Copy of', `${s.source.instanceName}${s.source.snapshotName ? ` (snapshot ${s.source.snapshotName})` : ''}${s.source.full || st.flattened ? ', independent' : ', linked'}`);
        if (s.snapshots?.schedule) out += row('Snapshots', `${s.snapshots.schedule}${s.snapshots.expiry ? `, kept ${s.snapshots.expiry}` : ''}`);
        if (st.restore) out += row('Last restore', `${st.restore.snapshotName ?? ''} ${st.restore.phase ?? ''}${st.restore.message ? `: ${st.restore.message}` : ''}`);
        const snaps = ((await ctx.client.list<KubeList>(SNAPSHOTS, { namespace: ctx.namespace, fieldSelector: `spec.instanceName=${name}` })).items as Snapshot[]).sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
        if (snaps.length) {
          out += 'Snapshots:\n';
          for (const x of snaps) out += `  ${shortSnapshotName(x).padEnd(24)}${(x.status?.phase ?? 'Pending').padEnd(11)}${x.status?.stateful ? 'stateful   ' : '           '}${x.status?.createdAt ?? ''}\n`;
        }
        if (st.conditions?.length) {
          out += 'Conditions:\n';
          for (const c of st.conditions) out += `  ${(c.type ?? '').padEnd(12)}${(c.status ?? '').padEnd(7)}${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}\n`;
        }
        process.stdout.write(out);
      });
    });
}
