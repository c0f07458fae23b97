// berth-shimd: containerd-style lifecycle manager. gRPC on a unix socket; one
// berth-shim per task; records on disk; shims found again after a restart.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { DEFAULT_ADDRESS, shimdApi } from '@berth/proto';
import { registerImageServices } from '../images/service.js';
import { Exchange } from './events.js';
import { Metadata } from './metadata.js';
import { containersService } from './services/containers.js';
import { eventsService } from './services/events.js';
import { namespacesService } from './services/namespaces.js';
import { tasksService } from './services/tasks.js';
import { Tasks } from './tasks.js';

const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';
const USAGE = `usage: berth-shimd [--address PATH] [--root DIR] [--state DIR] [--runtime NAME|PATH] [--shim PATH]
                   [--insecure-registry HOST[:PORT]|CIDR]...

  --address   gRPC unix socket (default ${DEFAULT_ADDRESS})
  --root      data: metadata, content, snapshots (default /var/lib/berth/shimd)
  --state     state: bundles, shim sockets (default /run/berth/shimd)
  --runtime   default OCI runtime: berth-runtime, runc, crun or a path
              (default $BERTH_SHIMD_RUNTIME, else berth-runtime beside this binary or on PATH)
  --shim      the berth-shim bundle (default: beside this binary)
  --insecure-registry  a registry reached over plain http or unverified TLS
              (repeatable; 127.0.0.0/8, ::1 and localhost always are)
`;

interface Options {
  address: string;
  root: string;
  state: string;
  runtime: string;
  shim: string;
  insecureRegistries: string[];
}

/** Node flags for berth-shim: it idles for the container's lifetime, so V8 stays small. */
const SHIM_NODE_FLAGS = ['--max-old-space-size=8', '--max-semi-space-size=1', '--stack-size=400'];

function selfDir(): string {
  return dirname(resolve(process.argv[1] ?? '.'));
}

function defaultRuntime(): string {
  if (process.env.BERTH_SHIMD_RUNTIME) return process.env.BERTH_SHIMD_RUNTIME;
  const here = selfDir();
  for (const p of [join(here, 'berth-runtime'), join(here, 'berth-runtime.cjs'), join(here, '..', '..', 'runtime', 'dist', 'berth-runtime.cjs')]) {
    if (existsSync(p)) return resolve(p);
  }
  return 'berth-runtime';
}

function defaultShim(): string {
  if (process.env.BERTH_SHIM) return process.env.BERTH_SHIM;
  const here = selfDir();
  for (const p of [join(here, 'berth-shim.cjs'), join(here, 'berth-shim')]) if (existsSync(p)) return p;
  return join(here, 'berth-shim.cjs');
}

function parseArgs(argv: string[]): Options | string {
  const o: Options = { address: DEFAULT_ADDRESS, root: '/var/lib/berth/shimd', state: '/run/berth/shimd', runtime: '', shim: '', insecureRegistries: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const key = name.replace(/^--/, '') as Exclude<keyof Options, 'insecureRegistries'> | 'insecure-registry';
    if (!name.startsWith('--') || (key as string) === 'insecureRegistries' || !(key in o || key === 'insecure-registry')) return `unknown option ${a}`;
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (!v) return `${name} needs a value`;
    if (key === 'insecure-registry') o.insecureRegistries.push(v);
    else o[key] = v;
  }
  o.runtime ||= defaultRuntime();
  o.shim ||= defaultShim();
  o.address = resolve(o.address.replace(/^unix:\/\//, ''));
  o.root = resolve(o.root);
  o.state = resolve(o.state);
  return o;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '__warmup') {
    // scripts/build.mjs writes the V8 code cache after this: option parsing and the gRPC API.
    parseArgs([]);
    shimdApi();
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`berth-shimd version ${VERSION}\n`);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const opts = parseArgs(argv);
  if (typeof opts === 'string') {
    process.stderr.write(`berth-shimd: ${opts}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  mkdirSync(opts.root, { recursive: true, mode: 0o711 });
  mkdirSync(opts.state, { recursive: true, mode: 0o711 });
  mkdirSync(dirname(opts.address), { recursive: true });

  const exchange = new Exchange();
  const meta = new Metadata(opts.root, exchange);
  const api = shimdApi();
  const server = new grpc.Server();
  const images = registerImageServices(server, {
    root: opts.root,
    insecureRegistries: opts.insecureRegistries,
    publish: (topic, namespace, event) => exchange.publish(namespace, topic, event),
    namespaces: {
      resolve: (ns) => meta.resolveNamespace(ns),
      ensure: (ns) => meta.ensureNamespace(ns),
    },
  });
  meta.holdsImages = (ns) => images.images.list(ns).length > 0;
  const tasks = new Tasks(
    {
      state: opts.state,
      runtime: opts.runtime,
      shim: opts.shim,
      // A shim idles for the container's lifetime: keep V8's heap small.
      shimNodeFlags: SHIM_NODE_FLAGS,
      snapshotMounts: (key) => images.snapshots.mounts(key).map((m) => ({ ...m, target: '' })),
    },
    meta,
    exchange,
  );
  await tasks.restore();

  server.addService(api.Namespaces.service, namespacesService(meta, tasks));
  server.addService(api.Containers.service, containersService(meta, tasks));
  server.addService(api.Tasks.service, tasksService(meta, tasks));
  server.addService(api.Events.service, eventsService(meta, exchange));

  rmSync(opts.address, { force: true });
  await new Promise<void>((res, rej) =>
    server.bindAsync(`unix://${opts.address}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? rej(err) : res())),
  );
  chmodSync(opts.address, 0o600);
  process.stderr.write(`berth-shimd ${VERSION} serving on ${opts.address} (runtime ${opts.runtime})\n`);

  const stop = () => {
    // Shims (and their containers) keep running; a restarted shimd finds them.
    server.tryShutdown(() => {
      rmSync(opts.address, { force: true });
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGPIPE', () => {});
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`berth-shimd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
