import { DAEMON_VERSION } from './system/info.js';
import { parseConfig, USAGE } from './config.js';

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '__warmup') {
    // scripts/build.mjs writes the V8 code cache after this: option parsing and the server's modules.
    parseConfig([]);
    await import('./daemon.js');
    return;
  }
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(argv);
  } catch (e) {
    process.stderr.write(`berthd: ${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (config === 'version') {
    process.stdout.write(`berthd version ${DAEMON_VERSION}\n`);
    return;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  // Loaded here, so `--version` and `--help` skip express and the services.
  const { startDaemon } = await import('./daemon.js');
  const daemon = await startDaemon(config);
  process.stderr.write(`berthd ${DAEMON_VERSION}: listening on ${config.hosts.join(', ')}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void daemon.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`berthd: ${(e as Error)?.message ?? e}\n`);
  process.exit(1);
});
