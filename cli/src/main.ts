const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'ctr') {
    process.exitCode = await (await import('./ctr/index.js')).main(argv.slice(1));
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`berth version ${VERSION}\n`);
    return;
  }
  process.stdout.write('usage: berth [options]\n');
}

void main(process.argv.slice(2));
