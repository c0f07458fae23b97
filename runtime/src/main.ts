// berth-runtime entry point. Kept tiny: global flags are parsed here and only the
// chosen subcommand's module loads (dynamic import), so `state` or `kill` never
// load koffi. `__init` and `__exec` are the hidden stages a create/exec spawns.
import { resolve } from 'node:path';
import { errorMessage } from './errors.js';
import { configureLog, logError } from './log.js';

const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';

export interface GlobalOptions {
  root: string;
  systemdCgroup: boolean;
}

type Command = (argv: string[], g: GlobalOptions) => Promise<number | undefined> | number | undefined;

const commands: Record<string, [string, () => Promise<{ default: Command }>]> = {
  create: ['create a container', () => import('./cli/create.js')],
  start: ['executes the user defined process in a created container', () => import('./cli/start.js')],
  run: ['create and run a container', () => import('./cli/run.js')],
  state: ['output the state of a container', () => import('./cli/state.js')],
  kill: ['kill sends the specified signal (default: SIGTERM) to the container\'s init process', () => import('./cli/kill.js')],
  delete: ['delete any resources held by the container often used with detached container', () => import('./cli/delete.js')],
  list: ['lists containers started by berth-runtime with the given root', () => import('./cli/list.js')],
  exec: ['execute new process inside the container', () => import('./cli/exec.js')],
  ps: ['ps displays the processes running inside a container', () => import('./cli/ps.js')],
  pause: ['pause suspends all processes inside the container', () => import('./cli/pause.js')],
  resume: ['resumes all processes that have been previously paused', () => import('./cli/pause.js').then((m) => ({ default: m.resume }))],
  update: ['update container resource constraints', () => import('./cli/update.js')],
  events: ['display container events such as OOM notifications, cpu, memory, and IO usage statistics', () => import('./cli/events.js')],
  spec: ['create a new specification file', () => import('./cli/spec.js')],
  features: ['show the enabled features', () => import('./cli/features.js')],
};

function usage(): string {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return `NAME:
   berth-runtime - Open Container Initiative runtime (runc-compatible)

USAGE:
   berth-runtime [global options] command [command options] [arguments...]

VERSION:
   ${VERSION}

COMMANDS:
${names.map((n) => `   ${n.padEnd(width)}${commands[n][0]}`).join('\n')}

GLOBAL OPTIONS:
   --debug             enable debug logging
   --log value         set the log file to write berth-runtime logs to (default is stderr)
   --log-format value  set the log format ('text' (default), or 'json') (default: "text")
   --root value        root directory for storage of container state (default: "/run/berth-runtime")
   --systemd-cgroup    enable systemd cgroup support (not supported yet)
   --help, -h          show help
   --version, -v       print the version
`;
}

async function main(argv: string[]): Promise<number> {
  const g: GlobalOptions = { root: '/run/berth-runtime', systemdCgroup: false };
  let logFile: string | undefined;
  let logFormat = 'text';
  let debug = false;
  let i = 0;
  const value = (name: string, arg: string): string => {
    const eq = arg.indexOf('=');
    if (eq >= 0) return arg.slice(eq + 1);
    if (i + 1 >= argv.length) throw new Error(`flag needs an argument: -${name}`);
    return argv[++i];
  };
  try {
    for (; i < argv.length; i++) {
      const arg = argv[i];
      if (!arg.startsWith('-')) break;
      const name = arg.replace(/^--?/, '').split('=')[0];
      if (name === 'root') g.root = resolve(value(name, arg));
      else if (name === 'log') logFile = value(name, arg);
      else if (name === 'log-format') logFormat = value(name, arg);
      else if (name === 'debug') debug = true;
      else if (name === 'systemd-cgroup') g.systemdCgroup = true;
      else if (name === 'criu' || name === 'rootless') value(name, arg);
      else if (name === 'version' || name === 'v') {
        process.stdout.write(`berth-runtime version ${VERSION}\ncommit: ${process.env.BERTH_COMMIT ?? 'unknown'}\nspec: 1.2.0\nnode: ${process.version}\n`);
        return 0;
      } else if (name === 'help' || name === 'h') {
        process.stdout.write(usage());
        return 0;
      } else throw new Error(`flag provided but not defined: -${name}`);
    }
    if (logFormat !== 'text' && logFormat !== 'json') throw new Error(`invalid log-format: ${logFormat}`);
    configureLog({ file: logFile, format: logFormat as 'text' | 'json', debug });
  } catch (err) {
    logError(errorMessage(err));
    return 1;
  }
  const name = argv[i];
  if (name === undefined || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  try {
    if (name === '__init' || name === '__exec') {
      const stage = await import('./container/stage.js');
      return stage.runStage(name, argv.slice(i + 1));
    }
    if (name === '__warmup') {
      // scripts/build.mjs writes the V8 code cache after this: the hot path of run/create
      // and the init stage's modules, run without side effects, so the cache holds them compiled.
      const [args, create, spec, oci, koffi] = await Promise.all([
        import('./cli/args.js'), import('./cli/create.js'), import('./container/spec.js'), import('oci-spec-types'),
        import('./sys/koffi.js'), import('./cli/run.js'), import('./container/create.js'), import('./container/stage.js'),
      ]);
      args.parseArgs(['-b', '/bundle', '--pid-file', '/pid', 'id'], create.createFlags);
      oci.validateSpec(spec.defaultSpec());
      koffi.createKoffiSys();
      return 0;
    }
    const entry = commands[name];
    if (!entry) throw new Error(`No help topic for '${name}'`);
    if (g.systemdCgroup) throw new Error('--systemd-cgroup is not supported by berth-runtime yet');
    const mod = await entry[1]();
    return (await mod.default(argv.slice(i + 1), g)) ?? 0;
  } catch (err) {
    // runc exits 255 when exec itself fails (so it is told apart from the process's status).
    if (name === 'exec') {
      logError(`exec failed: ${errorMessage(err)}`);
      return 255;
    }
    logError(errorMessage(err));
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Let pending stdout writes drain before exiting (a pipe reader may be slow).
    process.exitCode = code;
  },
  (err) => {
    logError(errorMessage(err));
    process.exitCode = 1;
  },
);
