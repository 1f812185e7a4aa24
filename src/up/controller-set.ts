// Which controllers `lodge up` runs, as kube-controller-manager's
// --controllers: "*" for all, "-name" to leave one out, "name" to run only
// those named (with no "*"). Unknown names are an error, so a typo never
// silently disables nothing.
export const CONTROLLER_NAMES = [
  'endpoints',
  'endpointslice',
  'namespace',
  'garbagecollector',
  'nodelifecycle',
  'nodeipam',
  'snapshot-schedule',
  'replicaset',
  'deployment',
  'daemonset',
  'job',
  'cronjob',
  'resourcequota',
  'eventttl',
  'taint-eviction-controller',
  'disruption',
] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/** The enabled set for a --controllers list (default ["*"]). */
export function enabledControllers(spec: string[] = ['*']): Set<ControllerName> {
  const known = new Set<string>(CONTROLLER_NAMES);
  const items = spec.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  for (const i of items) {
    const name = i.replace(/^-/, '');
    if (name !== '*' && !known.has(name)) throw new Error(`--controllers: unknown controller ${JSON.stringify(name)} (known: ${CONTROLLER_NAMES.join(', ')})`);
  }
  const all = items.includes('*');
  const on = new Set<ControllerName>(all ? CONTROLLER_NAMES : (items.filter((i) => !i.startsWith('-') && i !== '*') as ControllerName[]));
  for (const i of items) if (i.startsWith('-')) on.delete(i.slice(1) as ControllerName);
  return on;
}
