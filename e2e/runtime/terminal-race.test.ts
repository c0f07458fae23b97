// A terminal process's last output must reach whoever holds the pty master, however
// late that reader runs. berth-runtime's attached `exec -t`/`run -t` (no
// --console-socket) copies the master to its stdout through a libuv stream, which
// ends on POLLHUP after a short read: a master reports POLLHUP once the last slave fd
// closes, while the slave's last writes may still be queued in the kernel. The first
// test makes that happen every time (the runtime is stopped while the process writes
// more than n_tty's 4 KiB buffer and exits). The second runs many `exec -t` with
// --console-socket and a small receiver that reads until EIO, and checks every output
// is whole (this one also runs against runc).
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeUnderTest } from '../helpers.js';
import { CONSOLE_RECEIVER, canRun, isBerth, suite } from './rt.js';

const EXECS = 50;


function processState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0] ?? '';
  } catch {
    return '';
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      for (const w of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ')) if (w.trim()) out.push(Number(w));
    }
  } catch {}
  return out;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function collect(child: ChildProcess): Promise<{ status: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  return new Promise((res) => child.on('close', (status) => res({ status, stdout, stderr })));
}

describe.skipIf(!canRun)('terminal output at exit', () => {
  const s = suite('ttyrace');

  it.skipIf(!isBerth)('attached exec -t keeps the output a process wrote just before it exited while the runtime was not reading', async () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true }).status).toBe(0);
    const initPid = JSON.parse(s.rt(['state', id]).stdout).pid as number;
    const gate = `/proc/${initPid}/root/dev/shm/ttyrace-go`;
    // 8000 bytes: more than n_tty's 4 KiB read buffer, less than that plus the pty's
    // 8 KiB flip buffer (beyond which the writer would block).
    const size = 8000;
    const script = `while [ ! -e /dev/shm/ttyrace-go ]; do usleep 10000; done; head -c ${size} /dev/zero | tr "\\0" x; echo END`;
    // stdin stays open (a pipe we never end): the proxy must not type ^D at the process.
    const cli = spawn(runtimeUnderTest, ['--root', s.root, 'exec', '-t', id, 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    const done = collect(cli);
    let stopped = false;
    try {
      let sh = 0;
      await until(() => {
        sh = childrenOf(cli.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('ttyrace-go')) ?? 0;
        return sh > 0;
      }, 'the exec process');
      process.kill(cli.pid!, 'SIGSTOP');
      stopped = true;
      await until(() => processState(cli.pid!) === 'T', 'the runtime to stop');
      writeFileSync(gate, '');
      // Exited, not yet reaped by the stopped runtime: all written, the slave closed.
      await until(() => processState(sh) === 'Z', 'the exec process to exit');
    } finally {
      if (stopped) process.kill(cli.pid!, 'SIGCONT');
      cli.stdin!.end();
    }
    const r = await done;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect({ length: r.stdout.length, tail: r.stdout.slice(-8) }).toEqual({ length: size + 5, tail: 'xxxEND\r\n' });
    rmSync(gate, { force: true });
  });

  it(`${EXECS} exec -t over --console-socket each deliver all their output`, async () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '600'] }), id], { files: true }).status).toBe(0);
    const dir = s.tempDir();
    const incomplete: string[] = [];
    for (let i = 0; i < EXECS; i++) {
      const sock = join(dir, `c${i}.sock`);
      const rcv = spawn('python3', ['-c', CONSOLE_RECEIVER, sock, 'go\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const listening = new Promise<void>((res) => rcv.stdout!.once('data', () => res()));
      const out = collect(rcv);
      try {
        await listening;
        const r = s.rt(['exec', '-t', '-d', '--console-socket', sock, id, 'sh', '-c', 'read go; tty; echo $$'], { files: true });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const { stdout } = await out;
        // The echo of the input, the pty's name, the shell's pid.
        if (!/^listening\ngo\r\n\/dev\/pts\/\d+\r\n\d+\r\n$/.test(stdout)) incomplete.push(`${i}: ${JSON.stringify(stdout)}`);
      } finally {
        rcv.kill();
      }
    }
    expect(incomplete).toEqual([]);
  }, 300_000);
});
