// Commands that attach to a container's streams: run, create, start, attach, exec.
import { writeFileSync, existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { CommandModule, Options } from 'yargs';
import { type Cli, CliError, toArray } from '../cli.js';
import { DaemonError, type EngineClient } from '../client/engine.js';
import { FrameDecoder } from '../client/frames.js';
import { DEFAULT_DETACH_KEYS, DetachScanner, makeRaw, parseDetachKeys, proxySignals, watchSize } from '../term/tty.js';
import { type Args, command } from './common.js';
import { readConfig } from './config.js';
import { pullImage } from './pull.js';
import { buildCreate, runOptions } from './runopts.js';

const enc = encodeURIComponent;

interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  detachKeys: string;
  /** Where resizes go: /containers/ID or /exec/ID. */
  resizePath?: string;
  /** Proxy local signals to the container (non-TTY only). */
  sigProxy?: string;
}

/** The outcome of a stream session: it ended, or the user detached. */
type StreamEnd = 'ended' | 'detached';

/**
 * Runs the local side of a hijacked attach/exec connection: output to our stdout and
 * stderr (demultiplexed unless TTY), our stdin to the container, raw mode and
 * resizes on a terminal, and the detach sequence.
 */
export async function streamSession(cli: Cli, conn: { socket: Duplex; head?: Buffer }, o: AttachOptions): Promise<StreamEnd> {
  const client = cli.client;
  const stdin = cli.in;
  const stdout = cli.out as NodeJS.WriteStream;
  const stderr = cli.err;
  const cleanups: Array<() => void> = [];
  const keys = parseDetachKeys(o.detachKeys);
  let result: StreamEnd = 'ended';
  const done = new Promise<StreamEnd>((resolve) => {
    const socket = conn.socket;
    const decoder = o.tty ? undefined : new FrameDecoder();
    const onOutput = (chunk: Buffer) => {
      if (!decoder) {
        if (o.stdout) stdout.write(chunk);
        return;
      }
      for (const f of decoder.push(chunk)) {
        if (f.stream === 3) stderr.write(`Error: ${f.data.toString()}\n`);
        else if (f.stream === 2) stderr.write(f.data);
        else stdout.write(f.data);
      }
    };
    if (conn.head?.length) onOutput(conn.head);
    socket.on('data', onOutput);
    const finish = () => resolve(result);
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', finish);
    // The stream may have ended already (a container that exits at once, before start
    // returned): its events are gone, so look at its state.
    if (socket.destroyed || (socket as Duplex & { readableEnded?: boolean }).readableEnded) finish();
    if (o.stdin) {
      if (o.tty && stdin.isTTY) cleanups.push(makeRaw(stdin));
      const scanner = new DetachScanner(keys);
      const onInput = (chunk: Buffer) => {
        const { forward, detached } = o.tty || stdin.isTTY ? scanner.feed(chunk) : { forward: chunk, detached: false };
        if (forward.length) socket.write(forward);
        if (detached) {
          result = 'detached';
          socket.destroy();
          resolve('detached');
        }
      };
      stdin.on('data', onInput);
      // End of our input closes the container's stdin (half-close), output keeps flowing.
      const onEnd = () => {
        if (!socket.destroyed) (socket as Duplex & { end: () => void }).end();
      };
      stdin.on('end', onEnd);
      cleanups.push(() => {
        stdin.off('data', onInput);
        stdin.off('end', onEnd);
        stdin.pause();
      });
    }
  });
  if (o.tty && o.resizePath && stdout.isTTY) {
    cleanups.push(
      watchSize(stdout, (h, w) => {
        client.post(`${o.resizePath}/resize`, { h, w }).catch(() => {});
      }),
    );
  }
  if (o.sigProxy && !o.tty) {
    cleanups.push(proxySignals((signal) => void client.post(`/containers/${enc(o.sigProxy as string)}/kill`, { signal }).catch(() => {})));
  }
  try {
    return await done;
  } finally {
    for (const c of cleanups.reverse()) c();
  }
}

function detachKeysFor(cli: Cli, flag: string | undefined): string {
  if (flag) return flag;
  try {
    return readConfig(cli.configDir).detachKeys || DEFAULT_DETACH_KEYS;
  } catch {
    return DEFAULT_DETACH_KEYS;
  }
}

function isNoSuchImage(e: unknown): boolean {
  return e instanceof DaemonError && e.statusCode === 404 && /no such image|not found/i.test(e.message) && !/container/i.test(e.message);
}

/** create, pulling the image first when it is missing (or --pull always). */
async function createContainer(cli: Cli, a: Args, image: string, cmd: string[]): Promise<{ Id: string; Warnings?: string[] }> {
  const req = buildCreate(a, image, cmd);
  if (a.tty && process.stdout.isTTY) {
    const [cols, rows] = process.stdout.getWindowSize();
    req.body.HostConfig.ConsoleSize = [rows, cols];
  }
  const pull = a.pull ?? 'missing';
  if (!['always', 'missing', 'never'].includes(pull)) throw new CliError(`invalid pull option: '${pull}': must be one of "always", "missing" or "never"`, 125);
  const doPull = () => pullImage(cli, image, { quiet: a.quiet, platform: a.platform, out: cli.err });
  if (pull === 'always') await doPull();
  const create = () => cli.client.post('/containers/create', { name: req.name, platform: req.platform }, req.body);
  let created: { Id: string; Warnings?: string[] };
  try {
    created = await create();
  } catch (e) {
    if (!isNoSuchImage(e) || pull !== 'missing') throw e;
    cli.err.write(`Unable to find image '${image.includes(':') || image.includes('@') ? image : `${image}:latest`}' locally\n`);
    await doPull();
    created = await create();
  }
  for (const w of created.Warnings ?? []) cli.err.write(`WARNING: ${w}\n`);
  if (a.cidfile) {
    if (existsSync(a.cidfile)) throw new CliError(`container ID file found, make sure the other container isn't running or delete ${a.cidfile}`, 125);
    writeFileSync(a.cidfile, created.Id);
  }
  return created;
}

/** docker's exit codes when the container's process cannot be started. */
function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory|not found in \$PATH/i.test(message)) return 127;
  if (/permission denied|cannot execute|exec format error/i.test(message)) return 126;
  return 125;
}

async function runContainer(cli: Cli, a: Args): Promise<number> {
  const client = cli.client;
  const image: string = a.image;
  const cmd = toArray(a.command);
  const fail = (e: unknown, code = 125): number => {
    const msg = e instanceof DaemonError ? `Error response from daemon: ${e.message}` : e instanceof Error ? e.message : String(e);
    cli.err.write(`berth: ${msg}\n\nRun 'berth run --help' for more information\n`);
    return code;
  };
  const wantsStdin = toArray(a.attach).length ? toArray(a.attach).some((s) => s.toLowerCase() === 'stdin') : Boolean(a.interactive);
  if (!a.detach && a.tty && wantsStdin && !cli.in.isTTY) return fail(new Error('the input device is not a TTY'), 1);
  let created: { Id: string };
  try {
    created = await createContainer(cli, a, image, cmd);
  } catch (e) {
    if (e instanceof CliError) return fail(e, e.exitCode);
    return fail(e);
  }
  const id = created.Id;
  if (a.detach) {
    try {
      await client.post(`/containers/${enc(id)}/start`);
    } catch (e) {
      return fail(e, e instanceof DaemonError ? startFailureCode(e.message) : 125);
    }
    cli.print(id);
    return 0;
  }
  const attach = toArray(a.attach).map((s) => s.toLowerCase());
  const o: AttachOptions = {
    stdin: attach.length ? attach.includes('stdin') : Boolean(a.interactive),
    stdout: attach.length ? attach.includes('stdout') : true,
    stderr: attach.length ? attach.includes('stderr') : true,
    tty: Boolean(a.tty),
    detachKeys: detachKeysFor(cli, a.detachKeys),
    resizePath: `/containers/${enc(id)}`,
    sigProxy: a.sigProxy !== false ? id : undefined,
  };
  // Attach and wait are set up before start so no output and no exit is missed.
  const conn = await client.upgrade(`/containers/${enc(id)}/attach`, {
    query: { stream: '1', stdin: o.stdin ? '1' : undefined, stdout: o.stdout ? '1' : undefined, stderr: o.stderr ? '1' : undefined, detachKeys: o.detachKeys },
  });
  const waited = client.post(`/containers/${enc(id)}/wait`, { condition: a.rm ? 'removed' : 'next-exit' });
  waited.catch(() => {});
  try {
    await client.post(`/containers/${enc(id)}/start`);
  } catch (e) {
    conn.socket.destroy();
    if (a.rm) await client.delete(`/containers/${enc(id)}`, { force: '1' }).catch(() => {});
    return fail(e, e instanceof DaemonError ? startFailureCode(e.message) : 125);
  }
  const end = await streamSession(cli, conn, o);
  if (end === 'detached') {
    cli.err.write('\n');
    return 0;
  }
  try {
    const r = await waited;
    if (r?.Error?.Message) cli.err.write(`${r.Error.Message}\n`);
    return typeof r?.StatusCode === 'number' ? r.StatusCode : 0;
  } catch (e) {
    return fail(e);
  }
}

async function attachTo(cli: Cli, id: string, o: { stdin: boolean; detachKeys?: string; sigProxy: boolean }): Promise<number> {
  const client = cli.client;
  const info = await client.get(`/containers/${enc(id)}/json`);
  if (!info?.State?.Running) throw new CliError('You cannot attach to a stopped container, start it first');
  if (info.State.Paused) throw new CliError('You cannot attach to a paused container, unpause it first');
  const tty = Boolean(info.Config?.Tty);
  const stdin = o.stdin && Boolean(info.Config?.OpenStdin);
  const detachKeys = detachKeysFor(cli, o.detachKeys);
  const conn = await client.upgrade(`/containers/${enc(id)}/attach`, {
    query: { stream: '1', stdin: stdin ? '1' : undefined, stdout: '1', stderr: '1', detachKeys },
  });
  const waited = client.post(`/containers/${enc(id)}/wait`);
  waited.catch(() => {});
  const end = await streamSession(cli, conn, { stdin, stdout: true, stderr: true, tty, detachKeys, resizePath: `/containers/${enc(info.Id)}`, sigProxy: o.sigProxy ? info.Id : undefined });
  if (end === 'detached') return 0;
  const r = await waited.catch(() => undefined);
  return typeof r?.StatusCode === 'number' ? r.StatusCode : 0;
}

async function execIn(cli: Cli, a: Args): Promise<number> {
  const client: EngineClient = cli.client;
  const container: string = a.container;
  const cmd = toArray(a.command);
  if (cmd.length === 0) throw new CliError("berth exec requires at least 2 arguments.\nSee 'berth exec --help'.", 125);
  const tty = Boolean(a.tty);
  if (tty && a.interactive && !a.detach && !cli.in.isTTY) throw new CliError('the input device is not a TTY');
  const detach = Boolean(a.detach);
  const detachKeys = detachKeysFor(cli, a.detachKeys);
  const env = toArray(a.env);
  const body: Record<string, unknown> = {
    User: a.user ?? '',
    Privileged: Boolean(a.privileged),
    Tty: tty,
    AttachStdin: !detach && Boolean(a.interactive),
    AttachStdout: !detach,
    AttachStderr: !detach,
    DetachKeys: detachKeys,
    Env: env,
    WorkingDir: a.workdir ?? '',
    Cmd: cmd,
  };
  if (tty && process.stdout.isTTY) {
    const [cols, rows] = process.stdout.getWindowSize();
    body.ConsoleSize = [rows, cols];
  }
  const created = await client.post(`/containers/${enc(container)}/exec`, undefined, body);
  const execId: string = created.Id;
  if (detach) {
    await client.post(`/exec/${enc(execId)}/start`, undefined, { Detach: true, Tty: tty });
    return 0;
  }
  const conn = await client.upgrade(`/exec/${enc(execId)}/start`, { body: { Detach: false, Tty: tty, ConsoleSize: body.ConsoleSize } });
  const end = await streamSession(cli, conn, {
    stdin: Boolean(a.interactive),
    stdout: true,
    stderr: true,
    tty,
    detachKeys,
    resizePath: `/exec/${enc(execId)}`,
  });
  if (end === 'detached') return 0;
  const inspect = await client.get(`/exec/${enc(execId)}/json`);
  const code = inspect?.ExitCode;
  return typeof code === 'number' ? code : 0;
}

const execOptions: Record<string, Options> = {
  detach: { alias: 'd', type: 'boolean', describe: 'Detached mode: run command in the background' },
  'detach-keys': { type: 'string', describe: 'Override the key sequence for detaching a container' },
  env: { alias: 'e', type: 'string', describe: 'Set environment variables' },
  interactive: { alias: 'i', type: 'boolean', describe: 'Keep STDIN open even if not attached' },
  privileged: { type: 'boolean', describe: 'Give extended privileges to the command' },
  tty: { alias: 't', type: 'boolean', describe: 'Allocate a pseudo-TTY' },
  user: { alias: 'u', type: 'string', describe: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
  workdir: { alias: 'w', type: 'string', describe: 'Working directory inside the container' },
};

export const positionalStops: Record<string, Record<string, Options>> = { run: runOptions, create: runOptions, exec: execOptions };

export function commands(cli: Cli): CommandModule<any, any>[] {
  return [
    command('run <image> [command..]', 'Create and run a new container from an image', runOptions, (a) => runContainer(cli, a)),
    command('create <image> [command..]', 'Create a new container', runOptions, async (a) => {
      try {
        const created = await createContainer(cli, a, a.image, toArray(a.command));
        cli.print(created.Id);
        return 0;
      } catch (e) {
        return cli.report(e, e instanceof CliError ? e.exitCode : 1);
      }
    }),
    command('start <containers..>', 'Start one or more stopped containers', {
      attach: { alias: 'a', type: 'boolean', describe: 'Attach STDOUT/STDERR and forward signals' },
      'detach-keys': { type: 'string', describe: 'Override the key sequence for detaching a container' },
      interactive: { alias: 'i', type: 'boolean', describe: "Attach container's STDIN" },
    }, async (a) => {
      const names = toArray(a.containers);
      if (a.attach || a.interactive) {
        if (names.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
        const id = names[0];
        const info = await cli.client.get(`/containers/${enc(id)}/json`);
        const tty = Boolean(info?.Config?.Tty);
        const stdin = Boolean(a.interactive) && Boolean(info?.Config?.OpenStdin);
        const detachKeys = detachKeysFor(cli, a.detachKeys);
        const conn = await cli.client.upgrade(`/containers/${enc(id)}/attach`, {
          query: { stream: '1', stdin: stdin ? '1' : undefined, stdout: '1', stderr: '1', detachKeys },
        });
        const waited = cli.client.post(`/containers/${enc(id)}/wait`, { condition: 'next-exit' });
        waited.catch(() => {});
        await cli.client.post(`/containers/${enc(id)}/start`);
        const end = await streamSession(cli, conn, { stdin, stdout: true, stderr: true, tty, detachKeys, resizePath: `/containers/${enc(info.Id)}`, sigProxy: info.Id });
        if (end === 'detached') return 0;
        const r = await waited.catch(() => undefined);
        return typeof r?.StatusCode === 'number' ? r.StatusCode : 0;
      }
      const failed: string[] = [];
      for (const n of names) {
        try {
          await cli.client.post(`/containers/${enc(n)}/start`);
          cli.print(n);
        } catch (e) {
          cli.report(e);
          failed.push(n);
        }
      }
      if (failed.length) throw new CliError(`Error: failed to start containers: ${failed.join(', ')}`);
      return 0;
    }),
    command('attach <container>', 'Attach local standard input, output, and error streams to a running container', {
      'detach-keys': { type: 'string', describe: 'Override the key sequence for detaching a container' },
      'no-stdin': { type: 'boolean', describe: 'Do not attach STDIN' },
      'sig-proxy': { type: 'boolean', describe: 'Proxy all received signals to the process', default: true },
    }, (a) => attachTo(cli, a.container, { stdin: !a.noStdin, detachKeys: a.detachKeys, sigProxy: a.sigProxy !== false })),
    command('exec <container> [command..]', 'Execute a command in a running container', execOptions, async (a) => {
      try {
        return await execIn(cli, a);
      } catch (e) {
        if (e instanceof DaemonError && e.statusCode !== 404 && e.statusCode !== 409) return cli.report(e, startFailureCode(e.message));
        return cli.report(e, e instanceof CliError ? e.exitCode : 1);
      }
    }),
  ];
}
