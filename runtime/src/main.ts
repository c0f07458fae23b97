// berth-runtime entry point. Kept tiny: only the chosen subcommand's module loads.
const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';

function main(argv: string[]): void {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`berth-runtime version ${VERSION}\ncommit: ${process.env.BERTH_COMMIT ?? 'unknown'}\nspec: 1.2.0\nnode: ${process.version}\n`);
    return;
  }
  process.stdout.write('usage: berth-runtime [global options] command [command options] [arguments...]\n');
}

main(process.argv.slice(2));
