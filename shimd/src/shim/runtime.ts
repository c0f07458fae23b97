// Drives an OCI runtime binary through its runc-compatible CLI. Errors come from
// the runtime's --log (JSON lines, runc's format), since with pass-through stdio
// its stderr is the container's.
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { failedPrecondition, internal, invalidArgument, notFound, type ShimdError } from '../errors.js';

export interface RuntimeOptions {
  binary: string;
  root: string;
  /** runtime log (JSON lines); created by the runtime. */
  log: string;
}

export interface RunResult {
  code: number;
  stdout: string;
}

/**
 * Pids of runtime invocations Node itself spawned and will wait for: the shim's
 * reaper must leave them alone, or Node never sees their exit.
 */
export const spawnedPids = new Set<number>();

export class Runtime {
  constructor(readonly opts: RuntimeOptions) {}

  /** Runs `<runtime> --root R --log L --log-format json <args>`; rejects with the runtime's message. */
  run(args: string[], stdio: StdioOptions = ['ignore', 'pipe', 'pipe'], input?: string): Promise<RunResult> {
    const argv = ['--root', this.opts.root, '--log', this.opts.log, '--log-format', 'json', ...args];
    return new Promise((resolve, reject) => {
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(this.opts.binary, argv, { stdio });
      } catch (err) {
        reject(internal(`runtime ${this.opts.binary}: ${(err as Error).message}`));
        return;
      }
      const pid = child.pid;
      if (pid) spawnedPids.add(pid);
      let out = '';
      let err = '';
      child.stdout?.on('data', (d) => {
        out += d;
      });
      child.stderr?.on('data', (d) => {
        err += d;
      });
      if (input !== undefined && child.stdin) child.stdin.end(input);
      child.on('error', (e) => reject(internal(`runtime ${this.opts.binary}: ${e.message}`)));
      // 'exit', not 'close': with pass-through stdio the container keeps the pipes open.
      child.on('exit', (code, signal) => {
        if (pid) spawnedPids.delete(pid);
        const status = code ?? 128;
        if (status === 0) {
          resolve({ code: 0, stdout: out });
          return;
        }
        const msg = this.lastError() || err.trim() || `exited with ${signal ?? status}`;
        reject(classify(`${args[0]}: ${msg}`));
      });
    });
  }

  /** The last error the runtime logged (and clears the log so the next call starts fresh). */
  lastError(): string {
    if (!existsSync(this.opts.log)) return '';
    let msg = '';
    for (const line of readFileSync(this.opts.log, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const rec = JSON.parse(line);
        if (rec.level === 'error' || rec.level === 'fatal') msg = String(rec.msg ?? rec.message ?? line);
      } catch {
        msg = line;
      }
    }
    rmSync(this.opts.log, { force: true });
    return msg;
  }
}

function classify(msg: string): ShimdError {
  if (/does not exist|not exist|no such/i.test(msg) && /container/i.test(msg)) return notFound(msg);
  if (/not running|is paused|not paused|is running|cannot (kill|delete)/i.test(msg)) return failedPrecondition(msg);
  if (/invalid|parse|unmarshal|json/i.test(msg)) return invalidArgument(msg);
  return internal(msg);
}
