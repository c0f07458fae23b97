// Interactive runs through a real pty (script(1)): raw mode, window size changes,
// detach keys and the terminal restored on every way out. The daemon end is a
// recording fake of the attach/resize API here, since berthd cannot start containers
// yet; the same checks against berthd are in daemon-run.test.ts and run once it can.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDaemon } from '../../cli/src/testing/fake-daemon.js';
import { bins } from '../helpers.js';

const ID = 'cli0tty'.padEnd(64, '0');

/** True once the shell has finished writing the file (it is created empty by the redirection first). */
function written(path: string): boolean {
  try {
    return readFileSync(path, 'utf8').endsWith('\n');
  } catch {
    return false;
  }
}

function waitFor(cond: () => boolean, what: string, ms = 20000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() > until) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

interface Session {
  dir: string;
  script: ChildProcess;
  received: Buffer[];
  resizes: string[];
  attach?: Socket;
  exit(code: number): void;
  done: Promise<void>;
}

let d: FakeDaemon;
let dir: string;
beforeEach(async () => {
  d = await new FakeDaemon().listen();
  dir = mkdtempSync(join(tmpdir(), 'cli-tty-'));
});
afterEach(async () => {
  await d.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `berth run -it busybox sh` in a pty whose size starts at 30x100. */
function session(): Session {
  const s = { dir, received: [] as Buffer[], resizes: [] as string[] } as unknown as Session;
  let exitCode: number | undefined;
  let exited: () => void = () => {};
  const exitedP = new Promise<void>((r) => {
    exited = r;
  });
  s.exit = (code) => {
    exitCode = code;
    exited();
  };
  d.reply('POST', /^\/containers\/create$/, 201, { Id: ID });
  d.on('POST', /\/resize$/, (req, res) => {
    s.resizes.push(`${req.query.get('h')}x${req.query.get('w')}`);
    d.json(res, 200, undefined);
  });
  d.on('POST', /\/wait$/, async (_req, res) => {
    await exitedP;
    d.json(res, 200, { StatusCode: exitCode });
  });
  d.on('POST', /\/start$/, (_req, res) => d.json(res, 204, undefined));
  d.on('POST', /\/kill$/, (_req, res) => d.json(res, 204, undefined));
  d.onUpgrade(/\/attach$/, (_req, socket) => {
    s.attach = socket;
    socket.on('data', (b: Buffer) => {
      s.received.push(b);
      socket.write(b);
    });
  });
  // A background job resizes the pty when the test asks (a file appears).
  const cmd = [
    'stty rows 30 cols 100',
    `stty -g > ${dir}/before`,
    // Background jobs read /dev/null, so the pty's name is taken first.
    'pty=$(tty)',
    `(while [ ! -e ${dir}/resize ]; do sleep 0.05; done; stty -F $pty rows 40 cols 120) &`,
    `${process.execPath} ${bins.cli} -H ${d.host} run -it busybox sh`,
    `echo $? > ${dir}/rc`,
    `stty -g > ${dir}/after`,
  ].join('\n');
  s.script = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  s.script.stdout?.on('data', (b) => {
    output += b;
  });
  s.script.stderr?.on('data', (b) => {
    output += b;
  });
  (s as { output?: () => string }).output = () => output;
  s.done = new Promise((r) => s.script.once('exit', () => r()));
  return s;
}

function berthPid(root: number): number | undefined {
  // The node process running berth.cjs, somewhere below script(1).
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {}
  }
  const queue = [root];
  while (queue.length) {
    const p = queue.shift() as number;
    for (const c of children.get(p) ?? []) {
      try {
        if (readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0')[1] === bins.cli) return c;
      } catch {}
      queue.push(c);
    }
  }
  return undefined;
}

describe.skipIf(!existsSync('/usr/bin/script') || !existsSync(bins.cli))('berth run -it in a pty', () => {
  it('sends raw keystrokes, forwards resizes, detaches on ctrl-p ctrl-q and restores the terminal', async () => {
    const s = session();
    try {
      await waitFor(() => s.attach !== undefined && s.resizes.length > 0, 'attach and the first resize').catch((e) => {
        throw new Error(`${e.message}: ${(s as any).output()}`);
      });
      expect(s.resizes[0]).toBe('30x100');
      const create = JSON.parse(d.requests.find((r) => r.path === '/containers/create')?.body ?? '{}');
      expect(create).toMatchObject({ Tty: true, OpenStdin: true, AttachStdin: true, HostConfig: { ConsoleSize: [30, 100] } });
      // Raw mode: no line buffering, ctrl-c arrives as a byte instead of a signal.
      s.script.stdin?.write('ab\x03');
      await waitFor(() => Buffer.concat(s.received).toString() === 'ab\x03', 'raw keystrokes');
      writeFileSync(join(dir, 'resize'), '');
      await waitFor(() => s.resizes.includes('40x120'), 'the resize after SIGWINCH');
      // A lone ctrl-p is passed on once the next key shows it is not the sequence.
      s.script.stdin?.write('\x10x');
      await waitFor(() => Buffer.concat(s.received).toString() === 'ab\x03\x10x', 'ctrl-p then x');
      s.script.stdin?.write('\x10\x11');
      await waitFor(() => written(join(dir, 'after')), 'berth to detach');
      expect(readFileSync(join(dir, 'rc'), 'utf8').trim()).toBe('0');
      expect(readFileSync(join(dir, 'after'), 'utf8')).toBe(readFileSync(join(dir, 'before'), 'utf8'));
      expect(Buffer.concat(s.received).toString()).toBe('ab\x03\x10x');
    } finally {
      s.script.kill('SIGKILL');
      s.exit(0);
    }
  });

  it('exits with the container status and restores the terminal when the container ends', async () => {
    const s = session();
    try {
      await waitFor(() => s.attach !== undefined, 'attach');
      s.exit(7);
      s.attach?.end();
      await waitFor(() => written(join(dir, 'after')), 'berth to exit');
      expect(readFileSync(join(dir, 'rc'), 'utf8').trim()).toBe('7');
      expect(readFileSync(join(dir, 'after'), 'utf8')).toBe(readFileSync(join(dir, 'before'), 'utf8'));
    } finally {
      s.script.kill('SIGKILL');
    }
  });

  it('restores the terminal when berth is killed', async () => {
    const s = session();
    try {
      await waitFor(() => s.attach !== undefined, 'attach');
      let pid: number | undefined;
      await waitFor(() => {
        pid = berthPid(s.script.pid as number);
        return pid !== undefined;
      }, 'the berth process');
      process.kill(pid as number, 'SIGTERM');
      await waitFor(() => written(join(dir, 'after')), 'berth to exit');
      expect(readFileSync(join(dir, 'rc'), 'utf8').trim()).toBe('143');
      expect(readFileSync(join(dir, 'after'), 'utf8')).toBe(readFileSync(join(dir, 'before'), 'utf8'));
    } finally {
      s.script.kill('SIGKILL');
      s.exit(0);
    }
  });
});
