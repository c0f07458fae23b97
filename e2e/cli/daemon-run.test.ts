// Commands that need running containers, against a real berthd.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { canRunContainers, type Daemon, guarded, startDaemon, uid } from './helpers.js';

describe('berth with running containers', () => {
  let d: Daemon;
  beforeAll(async () => {
    d = await startDaemon();
    await d.berth(['load', '-i', fixtures().dockerArchive]);
    expect(await canRunContainers(d)).toBe(true);
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('run prints the output and exits with the container status', async () => {
    await guarded(d, async () => {
      const r = await d.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(r).toEqual({ status: 3, out: 'out\n', err: 'err\n' });
      const missing = await d.berth(['run', '--rm', 'busybox', 'cli-no-such-binary']);
      expect(missing.status).toBe(127);
    });
  });

  it('run -i passes stdin through and closes it at EOF', async () => {
    await guarded(d, async () => {
      const r = await d.berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'tr a-z A-Z'], { input: 'hello\n' });
      expect(r).toEqual({ status: 0, out: 'HELLO\n', err: '' });
    });
  });

  it('run -d, logs, exec, top, wait, stop and rm work on one container', async () => {
    await guarded(d, async () => {
      const name = uid();
      const id = (await d.berth(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo started; exec sleep 60'])).out.trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      try {
        for (let i = 0; i < 100 && !(await d.berth(['logs', name])).out.includes('started'); i++) await new Promise((r) => setTimeout(r, 100));
        expect((await d.berth(['logs', name])).out).toBe('started\n');
        expect(await d.berth(['exec', name, 'sh', '-c', 'echo $((6*7)); exit 4'])).toEqual({ status: 4, out: '42\n', err: '' });
        // Same answer as docker top, whatever the daemon says.
        const [top, dockerTop] = await Promise.all([d.berth(['top', name]), d.docker(['top', name])]);
        expect(top).toEqual(dockerTop);
        const ps = await d.berth(['ps', '--format', '{{.Names}} {{.State}}', '-f', `name=${name}`]);
        expect(ps.out).toBe(`${name} running\n`);
        const waited = d.berth(['wait', name]);
        expect((await d.berth(['stop', '-t', '1', name])).out).toBe(`${name}\n`);
        expect((await waited).out.trim()).toMatch(/^(137|143)$/);
      } finally {
        await d.berth(['rm', '-f', name]);
      }
    });
  });

  it('cp copies files both ways', async () => {
    await guarded(d, async () => {
      const name = uid();
      const tmp = mkdtempSync(join(tmpdir(), 'cli-cp-'));
      try {
        await d.berth(['run', '-d', '--name', name, 'busybox', 'sleep', '60']);
        writeFileSync(join(tmp, 'in.txt'), 'from host\n');
        expect((await d.berth(['cp', join(tmp, 'in.txt'), `${name}:/tmp/copied.txt`])).status).toBe(0);
        expect((await d.berth(['exec', name, 'cat', '/tmp/copied.txt'])).out).toBe('from host\n');
        expect((await d.berth(['cp', `${name}:/tmp/copied.txt`, join(tmp, 'back.txt')])).status).toBe(0);
        expect(readFileSync(join(tmp, 'back.txt'), 'utf8')).toBe('from host\n');
      } finally {
        await d.berth(['rm', '-f', name]);
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });

  it('run -it through a pty: raw mode, detach with ctrl-p ctrl-q, terminal restored', async (ctx) => {
    if (!existsSync('/usr/bin/script')) ctx.skip();
    await guarded(d, async () => {
      const name = uid();
      const tmp = mkdtempSync(join(tmpdir(), 'cli-pty-'));
      try {
        const cmd = [`stty -g > ${tmp}/before`, `${process.execPath} ${bins.cli} -H ${d.host} run -it --name ${name} busybox sh`, `echo $? > ${tmp}/rc`, `stty -g > ${tmp}/after`].join('\n');
        const child = execFile('script', ['-qfec', cmd, '/dev/null']);
        let output = '';
        child.stdout?.on('data', (b) => {
          output += b;
        });
        const until = Date.now() + 20000;
        const waitOut = async (re: RegExp) => {
          while (!re.test(output) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
          expect(JSON.stringify(output)).toMatch(re);
        };
        // ash asks the terminal for the cursor position and draws its prompt once input comes.
        await waitOut(/built-in commands/);
        child.stdin?.write('echo $((40+2))\r');
        await waitOut(/42/);
        child.stdin?.write('\x10\x11');
        while (!readFileSync(`${tmp}/after`, { flag: 'a+' }).toString().endsWith('\n') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        expect(readFileSync(`${tmp}/rc`, 'utf8').trim()).toBe('0');
        expect(readFileSync(`${tmp}/after`, 'utf8')).toBe(readFileSync(`${tmp}/before`, 'utf8'));
        expect((await d.berth(['ps', '--format', '{{.Names}}', '-f', `name=${name}`])).out).toBe(`${name}\n`);
        child.kill('SIGKILL');
      } finally {
        await d.berth(['rm', '-f', name]);
        rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
});
