// What every command handler gets: the global flags, a lazily created Engine API
// client, and docker's error conventions (messages and exit codes).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConnectError, DaemonError, DEFAULT_HOST, EngineClient } from './client/engine.js';

export interface Globals {
  host?: string;
  config?: string;
  debug?: boolean;
}

/** An error with the exit status docker would use (125 usage/daemon error for run, 126, 127...). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The daemon address: -H, then BERTH_HOST, then DOCKER_HOST, then the default socket. */
export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.BERTH_HOST || env.DOCKER_HOST || DEFAULT_HOST;
}

/** The directory holding config.json: --config, BERTH_CONFIG, or ~/.berth. */
export function resolveConfigDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env.BERTH_CONFIG || join(env.HOME || homedir(), '.berth');
}

export class Cli {
  private engine: EngineClient | undefined;
  readonly host: string;
  readonly configDir: string;
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number } = process.stdout;
  err: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr;
  in: NodeJS.ReadStream = process.stdin;

  constructor(
    readonly globals: Globals,
    io: Io = {},
  ) {
    this.host = resolveHost(globals.host);
    this.configDir = resolveConfigDir(globals.config);
    if (io.out) this.out = io.out;
    if (io.err) this.err = io.err;
    if (io.in) this.in = io.in;
  }

  get client(): EngineClient {
    this.engine ??= new EngineClient(this.host, process.env.BERTH_API_VERSION || process.env.DOCKER_API_VERSION || undefined);
    return this.engine;
  }

  print(text: string): void {
    this.out.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  }

  /** Reports an error as docker does and returns the exit status to use. */
  report(e: unknown, daemonExit = 1): number {
    if (e instanceof DaemonError) {
      this.err.write(`Error response from daemon: ${e.message}\n`);
      return daemonExit;
    }
    if (e instanceof ConnectError) {
      this.err.write(`${e.message}\n`);
      return daemonExit;
    }
    if (e instanceof CliError) {
      if (e.message) this.err.write(`${e.message}\n`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message : String(e);
    this.err.write(`${msg}\n`);
    if (this.globals.debug && e instanceof Error && e.stack) this.err.write(`${e.stack}\n`);
    return 1;
  }
}

/** Per run: whether yargs reported a usage error (handlers must not run then) and the status handlers set. */
export const runState: { failed: boolean; status: number; error?: unknown } = { failed: false, status: 0 };

/** Streams a command talks to (tests pass their own). */
export interface Io {
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err?: NodeJS.WritableStream & { isTTY?: boolean };
  in?: NodeJS.ReadStream;
}

export function toArray(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * Looks up each name for an `inspect` command and prints what was found before the
 * errors, as docker does (the JSON array first, then one error line per miss).
 */
export async function inspectEach(cli: Cli, names: string[], get: (name: string) => Promise<unknown>, render: (items: unknown[]) => string | undefined): Promise<number> {
  const items: unknown[] = [];
  const errors: unknown[] = [];
  for (const n of names) {
    try {
      items.push(await get(n));
    } catch (e) {
      errors.push(e);
    }
  }
  const text = render(items);
  if (text !== undefined) cli.out.write(text);
  let status = 0;
  for (const e of errors) status = cli.report(e);
  return status;
}

/** Runs `fn` for each name, printing each result or error; exit 1 if any failed (docker's rm, stop...). */
export async function forEach(cli: Cli, names: string[], fn: (name: string) => Promise<string | undefined>): Promise<number> {
  let status = 0;
  for (const name of names) {
    try {
      const out = await fn(name);
      if (out !== undefined) cli.print(out);
    } catch (e) {
      status = cli.report(e) || 1;
    }
  }
  return status;
}
