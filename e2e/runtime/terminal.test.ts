// process.terminal with --console-socket: the pty master arrives over the unix
// socket with SCM_RIGHTS (the contract containerd, podman and docker rely on), and
// the container's stdio is the pty slave with the configured size. The receiving
// end is a few lines of Python (socket.recv_fds), since Node cannot receive fds.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimeUnderTest } from '../helpers.js';
import { CONSOLE_RECEIVER, canRun, hasPython, isBerth, suite } from './rt.js';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;


function receiver(path: string, input?: string): { child: ChildProcess; ready: Promise<void>; done: Promise<{ stdout: string; stderr: string }> } {
  const child = spawn('python3', ['-c', CONSOLE_RECEIVER, path, ...(input ? [input] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const ready = new Promise<void>((res) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (stdout.startsWith('listening\n')) res();
    });
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<{ stdout: string; stderr: string }>((res) => child.on('exit', () => res({ stdout: stdout.replace(/^listening\n/, ''), stderr })));
  return { child, ready, done };
}

describe.skipIf(!canRun || !hasPython)('terminal', () => {
  const s = suite('tty');

  it('sends the pty master over --console-socket and runs on the slave', async () => {
    const sock = join(s.tempDir(), 'console.sock');
    const rcv = receiver(sock);
    try {
      await rcv.ready;
      const b = s.bundle({
        args: ['sh', '-c', 'tty; test -t 0 && test -t 1 && echo is-a-tty; stty size; ls -l /dev/console | cut -c1'],
        terminal: true,
        edit: (c) => (c.process.consoleSize = { height: 30, width: 100 }),
      });
      const id = s.id();
      const r = s.rt(['run', '-d', '--console-socket', sock, '-b', b, id], { files: true });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const out = await rcv.done;
      expect(out.stderr).toMatch(/fds=1/);
      expect(out.stdout.split(/\r?\n/).filter(Boolean)).toEqual(['/dev/pts/0', 'is-a-tty', '30 100', 'c']);
    } finally {
      rcv.child.kill();
    }
  });

  it('input written to the master reaches the process', async () => {
    const sock = join(s.tempDir(), 'console.sock');
    const rcv = receiver(sock, 'typed-line\n');
    try {
      await rcv.ready;
      const b = s.bundle({ args: ['sh', '-c', 'read x; echo got-$x'], terminal: true });
      expect(s.rt(['run', '-d', '--console-socket', sock, '-b', b, s.id()], { files: true }).status).toBe(0);
      const out = await rcv.done;
      expect(out.stdout).toMatch(/got-typed-line/);
    } finally {
      rcv.child.kill();
    }
  });

  it('exec -t gets its own pty over the console socket', async () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true }).status).toBe(0);
    const sock = join(s.tempDir(), 'console.sock');
    const rcv = receiver(sock);
    try {
      await rcv.ready;
      const r = s.rt(['exec', '-t', '-d', '--console-socket', sock, id, 'sh', '-c', 'test -t 0 && echo exec-tty'], { files: true });
      expect(r.stderr).toBe('');
      const out = await rcv.done;
      expect(out.stdout).toMatch(/exec-tty/);
    } finally {
      rcv.child.kill();
    }
  });

  // `run` attached with a terminal and no console socket: the runtime proxies the
  // pty through its own (terminal) stdio. script(1) gives it that terminal.
  it.skipIf(!hasScript)('run -t without --console-socket proxies the terminal', () => {
    const b = s.bundle({ args: ['sh', '-c', 'read x; test -t 0 && echo tty-$x; exit 4'], terminal: true });
    const cmd = [runtimeUnderTest, '--root', s.root, 'run', '-b', b, s.id()].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { input: 'typed\n', encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toMatch(/tty-typed/);
    expect(r.status).toBe(4);
  });

  // runc needs its own stdin to be a terminal here (it opens /dev/tty); berth-runtime
  // proxies from any stdin, a file included (which also exercises the runtime's
  // thread pool after it has made the pid namespace).
  it.skipIf(!isBerth)('run with a terminal proxies stdin from a file', () => {
    const dir = s.tempDir();
    writeFileSync(join(dir, 'in'), 'from-file\n');
    const input = openSync(join(dir, 'in'), 'r');
    try {
      const b = s.bundle({ args: ['sh', '-c', 'read x; echo got-$x'], terminal: true });
      const r = spawnSync(runtimeUnderTest, ['--root', s.root, 'run', '-b', b, s.id()], { stdio: [input, 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/got-from-file/);
      expect(r.status).toBe(0);
    } finally {
      closeSync(input);
    }
  });

  it.skipIf(!hasScript)('exec -t without --console-socket proxies the terminal', () => {
    const id = s.id();
    expect(s.rt(['run', '-d', '-b', s.bundle({ args: ['sleep', '60'] }), id], { files: true }).status).toBe(0);
    const cmd = [runtimeUnderTest, '--root', s.root, 'exec', '-t', id, 'sh', '-c', "'test -t 1 && echo exec-proxied; exit 6'"].join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { input: '', encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toMatch(/exec-proxied/);
    expect(r.status).toBe(6);
  });

  it('a terminal without --console-socket is refused when detached, leaving nothing', () => {
    const id = s.id();
    const r = s.rt(['create', '-b', s.bundle({ args: ['true'], terminal: true }), id], { files: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/console socket/);
    expect(existsSync(join(s.root, id))).toBe(false);
  });
});
