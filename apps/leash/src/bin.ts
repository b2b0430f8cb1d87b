/*
 * bin/leash's entry. `leash`, `leash help` and `leash --help` print the
 * overview before anything heavy loads (telemetry, the engines, the
 * services' modules); every other command loads the CLI (cli.ts).
 */
import { OVERVIEW } from './cli/overview';

const argv = process.argv.slice(2);
const overview =
  argv.length === 0 || (argv.length === 1 && ['help', '--help', '-h'].includes(argv[0]!));

if (overview) {
  process.stdout.write(`${OVERVIEW}\n`);
} else {
  void import('./cli').then((cli) => cli.main());
}
