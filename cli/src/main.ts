// berth: the docker-style command line. Global flags are read here by hand so that
// `--version` and the top-level help never load yargs or any command; a command's
// module is imported only when that command runs.
import { managementHelp, splitArgs, topLevelHelp } from './args.js';
import { commandTable } from './commands/table.js';

const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';
const COMMIT = process.env.BERTH_COMMIT ?? 'unknown';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '__warmup') {
    // scripts/build.mjs writes the V8 code cache after this: argument splitting and the
    // command dispatcher's modules, without talking to a daemon.
    splitArgs(['run', '--rm', 'busybox', 'true']);
    await import('./dispatch.js');
    return 0;
  }
  if (argv[0] === 'ctr') return (await import('./ctr/index.js')).main(argv.slice(1));
  const split = splitArgs(argv);
  if (!split.command) {
    if (split.version) {
      process.stdout.write(`berth version ${VERSION}, build ${COMMIT}\n`);
      return 0;
    }
    process.stdout.write(topLevelHelp());
    return split.help || argv.length === 0 ? 0 : 125;
  }
  if (split.command === 'ctr') return (await import('./ctr/index.js')).main(split.rest);
  if (split.command === 'container' || split.command === 'image') {
    const known = split.rest.length === 0 || split.rest[0] === '--help' || split.rest[0] === '-h';
    (known ? process.stdout : process.stderr).write(managementHelp(split.command));
    return known ? 0 : 125;
  }
  const entry = commandTable.find((c) => c.name === split.command);
  if (!entry) {
    process.stderr.write(`berth: '${split.command}' is not a berth command.\nSee 'berth --help'\n`);
    return 1;
  }
  if (split.help) split.rest.push('--help');
  return (await import('./dispatch.js')).runCommand(split, entry);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
