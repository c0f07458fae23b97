// Stdin, TTYs and log following through berthd, with the real docker CLI.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

/** Runs a docker command under a pty (util-linux `script`), feeding `input` to it. */
function inPty(env: Env, cmd: string, input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'script',
      ['-qec', cmd, '/dev/null'],
      { env: { ...process.env, DOCKER_HOST: `unix://${env.sock}`, DOCKER_CONFIG: join(env.dir, 'docker-config'), TERM: 'xterm' }, timeout: 30000 },
      (err, stdout) => resolve({ code: err ? ((err as any).code ?? 1) : 0, out: stdout }),
    );
    // Type only once the container is attached: the pty echoes what comes before.
    setTimeout(() => child.stdin?.write(input), 1500);
  });
}

describe.skipIf(!isRoot || !existsSync(DOCKER) || !existsSync('/usr/bin/script'))('berthd: stdin, tty, logs -f', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('docker run -i passes stdin and its end', async () => {
    const r = await env.docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello stdin\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('HELLO STDIN\ndone\n');
    expect(r.code).toBe(0);
  });

  it('docker run -it runs in a terminal the test types into', async () => {
    const name = uid();
    const r = await inPty(env, `${DOCKER} run -it --name ${name} busybox sh -c 'tty; read line; echo "got:$line"; exit 5'`, 'typed\r');
    expect(r.out).toMatch(/\/dev\/pts\/[0-9]+/);
    expect(r.out).toContain('got:typed');
    // (script(1) does not pass the exit status on once its input ends: ask berthd.)
    expect((await env.docker(['inspect', '--format', '{{.State.ExitCode}} {{.Config.Tty}}', name])).stdout.trim()).toBe('5 true');
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('docker logs -f follows until the container exits; --tail and -t', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.2; done'])).code).toBe(0);
    const f = await env.docker(['logs', '-f', name]);
    expect(f.stdout).toBe('line1\nline2\nline3\n');
    const tail = await env.docker(['logs', '--tail', '1', name]);
    expect(tail.stdout).toBe('line3\n');
    const ts = await env.docker(['logs', '-t', '--tail', '1', name]);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line3\n$/);
    expect((await env.docker(['rm', name])).code).toBe(0);
  });

  it('docker exec -i and exec -d', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, 'busybox', 'sleep', '300'])).code).toBe(0);
    const i = await env.docker(['exec', '-i', name, 'cat'], { input: 'through exec\n' });
    expect(i.stdout).toBe('through exec\n');
    expect((await env.docker(['exec', '-d', name, 'sh', '-c', 'echo detached > /tmp/marker'])).code).toBe(0);
    let cat = await env.docker(['exec', name, 'cat', '/tmp/marker']);
    for (let n = 0; n < 20 && cat.stdout === ''; n++) {
      await new Promise((r) => setTimeout(r, 100));
      cat = await env.docker(['exec', name, 'cat', '/tmp/marker']);
    }
    expect(cat.stdout).toBe('detached\n');
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
  });
  it('docker logs returns a large output byte for byte, split by stream, with --tail and -t', async () => {
    const name = uid();
    // 30000 lines with escapes, UTF-8, control bytes and a last line without newline.
    const script = `i=0; while [ $i -lt 30000 ]; do printf 'l%05d "q" \\\\ \\t é ✓ \\033[0m\\n' $i; i=$((i+1)); done; echo to-stderr >&2; printf 'no-newline'`;
    const run = await env.docker(['run', '--name', name, 'busybox', 'sh', '-c', script]);
    expect(run.code).toBe(0);
    const logs = await env.docker(['logs', name]);
    const lines = logs.stdout.split('\n');
    expect(lines.length).toBe(30001);
    expect(lines[0]).toBe('l00000 "q" \\ \t é ✓ \u001b[0m');
    expect(lines[29999]).toBe('l29999 "q" \\ \t é ✓ \u001b[0m');
    expect(lines[30000]).toBe('no-newline');
    expect(logs.stdout).toBe(run.stdout);
    expect(logs.stderr).toBe('to-stderr\n');
    const tail = await env.docker(['logs', '--tail', '2', name]);
    expect(tail.stdout).toBe('no-newline');
    expect(tail.stderr).toBe('to-stderr\n');
    const stamped = await env.docker(['logs', '-t', '--tail', '1', name]);
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z no-newline$/);
    expect((await env.docker(['rm', name])).code).toBe(0);
  });
});
