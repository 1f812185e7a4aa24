// `npm run bench`: every bench in turn. Each prints its table and refreshes
// its own section of bench/RESULTS.md. Arguments are passed to each bench
// (see bench/api.ts, bench/pod-start.ts and bench/instance-start.ts for
// theirs); to give one bench flags the others do not know, run it alone
// (node dist/bench/NAME.js).
import { apiMain, commandLine } from './api.js';
import { deploymentScaleMain } from './deployment-scale.js';
import { instanceStartMain } from './instance-start.js';
import { podStartMain } from './pod-start.js';
import { schedulerMain } from './scheduler.js';
import { servicePathMain } from './service-path.js';
import { servicesMain } from './services.js';
import { snapshotMain } from './snapshot.js';

const benches: { name: string; main: (argv: string[], command: string) => Promise<void> }[] = [
  { name: 'api', main: apiMain },
  { name: 'pod-start', main: podStartMain },
  { name: 'instance-start', main: instanceStartMain },
  { name: 'snapshot', main: snapshotMain },
  { name: 'service-path', main: servicePathMain },
  { name: 'services', main: servicesMain },
  { name: 'scheduler', main: schedulerMain },
  { name: 'deployment-scale', main: deploymentScaleMain },
];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  for (const b of benches) {
    process.stderr.write(`bench: == ${b.name} ==\n`);
    await b.main(argv, commandLine());
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
