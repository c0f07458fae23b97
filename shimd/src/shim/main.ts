// berth-shim: one per container, started detached by berth-shimd. Serves the
// per-task API (proto/shim.proto) as protobuf frames on a unix socket; never loads
// gRPC, so an idle shim stays small.
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import { shimCodec, type ShimFrame } from '@berth/proto/shim';
import { errorMessage, invalidArgument, nowRfc3339 } from '../errors.js';
import { setChildSubreaper } from '../sys/index.js';
import { kindOf, type ShimConfig, Task } from './shim.js';

const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';
const USAGE = 'usage: berth-shim --id ID --namespace NS --bundle DIR --socket PATH --runtime BINARY\n';

function parseArgs(argv: string[]): ShimConfig | undefined {
  const cfg: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) return undefined;
    const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i]];
    if (v === undefined) return undefined;
    cfg[k] = v;
  }
  for (const k of ['id', 'namespace', 'bundle', 'socket', 'runtime']) if (!cfg[k]) return undefined;
  return cfg as unknown as ShimConfig;
}

type Handler = (payload: Uint8Array | undefined) => Promise<Uint8Array>;

function serve(cfg: ShimConfig): void {
  const codec = shimCodec();
  const task = new Task(cfg);
  const clients = new Set<net.Socket>();
  const send = (sock: net.Socket, frame: ShimFrame) => {
    if (!sock.destroyed) sock.write(codec.encodeFrame(frame));
  };
  const eventFrame = (topic: string, event: object): ShimFrame => ({
    kind: 'EVENT',
    id: 0,
    event: { topic, event: JSON.stringify(event), timestamp: nowRfc3339() },
  });
  task.onEvent = (topic, event) => {
    const frame = eventFrame(topic, event);
    for (const c of clients) send(c, frame);
  };

  const enc = (type: string, m: object) => codec.encode(type, m);
  const ref = (p: Uint8Array | undefined) => codec.decode<{ exec_id: string }>('ProcessRef', p).exec_id;
  const empty = enc('Empty', {});
  const methods: Record<string, Handler> = {
    Create: async (p) => enc('ProcessState', await task.create(codec.decode('CreateRequest', p))),
    Start: async (p) => enc('ProcessState', await task.start(ref(p))),
    Exec: async (p) => {
      const r = codec.decode('ExecRequest', p);
      task.exec(r.exec_id, r.stdio ?? {}, r.spec);
      return empty;
    },
    Kill: async (p) => {
      const r = codec.decode('KillRequest', p);
      await task.kill(r.exec_id, r.signal, r.all);
      return empty;
    },
    ResizePty: async (p) => {
      const r = codec.decode('ResizeRequest', p);
      task.resize(r.exec_id, r.width, r.height);
      return empty;
    },
    CloseIO: async (p) => {
      task.closeIO(ref(p));
      return empty;
    },
    Pause: async () => {
      await task.pause();
      return empty;
    },
    Resume: async () => {
      await task.resume();
      return empty;
    },
    Update: async (p) => {
      await task.update(codec.decode('UpdateRequest', p).resources);
      return empty;
    },
    State: async (p) => enc('ProcessState', task.state(ref(p))),
    List: async () => enc('ProcessList', { processes: task.list() }),
    Wait: async (p) => enc('ProcessState', await task.wait(ref(p))),
    Pids: async () => enc('PidList', { pids: await task.pids() }),
    Delete: async (p) => enc('ProcessState', await task.delete(ref(p))),
    Shutdown: async () => {
      if (!task.hasLiveProcesses()) setImmediate(exit);
      return empty;
    },
  };

  const server = net.createServer((sock) => {
    clients.add(sock);
    sock.on('close', () => clients.delete(sock));
    sock.on('error', () => {});
    // A client that (re)connects first learns about exits it may have missed.
    for (const [topic, event] of task.exitedEvents()) send(sock, eventFrame(topic, event));
    const feed = codec.decoder(async (frame) => {
      if (frame.kind !== 'REQUEST') return;
      const handler = methods[frame.method ?? ''];
      try {
        if (!handler) throw invalidArgument(`unknown method ${frame.method}`);
        send(sock, { kind: 'RESPONSE', id: frame.id, payload: await handler(frame.payload) });
      } catch (err) {
        if (kindOf(err) === 'Internal') process.stderr.write(`berth-shim: ${frame.method}: ${(err as Error)?.stack ?? err}\n`);
        send(sock, { kind: 'RESPONSE', id: frame.id, error_kind: kindOf(err), error: errorMessage(err) });
      }
    });
    sock.on('data', (d) => {
      try {
        feed(d);
      } catch (err) {
        process.stderr.write(`berth-shim: bad frame: ${(err as Error)?.message ?? err}\n`);
        sock.destroy();
      }
    });
  });

  function exit(): void {
    server.close();
    rmSync(cfg.socket, { force: true });
    // Let the last responses leave before the process goes.
    const pending = [...clients].map((c) => new Promise<void>((r) => (c.writableLength ? c.once('drain', r) : r())));
    void Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, 500))]).then(() => process.exit(0));
  }
  task.onDeleted = exit;

  rmSync(cfg.socket, { force: true });
  server.listen(cfg.socket, () => {
    chmodSync(cfg.socket, 0o600);
    // shimd waits for this line on our stdout before it connects.
    process.stdout.write(`ready ${process.pid}\n`);
  });
  server.on('error', (err) => {
    process.stderr.write(`berth-shim: ${err.message}\n`);
    process.exit(1);
  });
}

function main(argv: string[]): void {
  if (argv[0] === '__warmup') {
    // scripts/build.mjs writes the V8 code cache after this: a request frame's round trip.
    const codec = shimCodec();
    const payload = codec.encode('ProcessRef', { exec_id: 'x' });
    codec.decoder((f) => codec.decode('ProcessRef', f.payload))(codec.encodeFrame({ kind: 'REQUEST', id: 1, method: 'State', payload }));
    return;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`berth-shim version ${VERSION}\n`);
    return;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}berth-shim is started by berth-shimd, one per container; it is not meant to be run by hand.\n`);
    return;
  }
  const cfg = parseArgs(argv);
  if (!cfg) {
    process.stderr.write(USAGE);
    process.exitCode = 2;
    return;
  }
  // Orphaned container processes (the init once the runtime exits) become ours to reap.
  setChildSubreaper();
  // Nobody to deliver SIGPIPE/SIGHUP to: a closed client must not take the task's shim down.
  process.on('SIGPIPE', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGTERM', () => {});
  process.on('SIGINT', () => {});
  serve(cfg);
}

main(process.argv.slice(2));
