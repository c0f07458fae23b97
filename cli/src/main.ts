const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';

function main(argv: string[]): void {
  if (argv.includes('--version')) {
    process.stdout.write(`berth version ${VERSION}\n`);
    return;
  }
  process.stdout.write('usage: berth [options]\n');
}

main(process.argv.slice(2));
