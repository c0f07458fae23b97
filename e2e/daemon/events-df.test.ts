// docker events for container, exec, image, volume and network actions; docker
// system df figures; docker stats with cgroup v1 figures.
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { DOCKER, type Env, startEnv, uid } from './harness.js';

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: events, system df, stats', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
  });
  afterAll(async () => {
    await env?.stop();
  });

  const events = async (since: number, filters: string[], format = '{{.Type}} {{.Action}}') =>
    (await env.docker(['events', '--since', since.toFixed(3), '--until', String(Math.floor(Date.now() / 1000) + 1), ...filters.flatMap((f) => ['--filter', f]), '--format', format])).stdout
      .split('\n')
      .filter(Boolean);

  it('container, exec, volume and network actions are reported as Docker names them', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const name = uid();
    const vol = uid('daemonvol');
    const renamed = uid();
    expect((await env.docker(['volume', 'create', vol])).code).toBe(0);
    const run = await env.docker(['run', '-d', '--name', name, '-v', `${vol}:/data`, 'busybox', 'sleep', '300']);
    expect(run.code).toBe(0);
    const id = run.stdout.trim();
    expect((await env.docker(['exec', name, 'true'])).code).toBe(0);
    expect((await env.docker(['top', name])).code).toBe(0);
    expect((await env.docker(['pause', name])).code).toBe(0);
    expect((await env.docker(['unpause', name])).code).toBe(0);
    expect((await env.docker(['update', '--pids-limit', '50', name])).code).toBe(0);
    writeFileSync(join(env.dir, 'ev-file'), 'x');
    expect((await env.docker(['cp', join(env.dir, 'ev-file'), `${name}:/tmp/`])).code).toBe(0);
    expect((await env.docker(['cp', `${name}:/tmp/ev-file`, join(env.dir, 'ev-back')])).code).toBe(0);
    expect((await env.docker(['rename', name, renamed])).code).toBe(0);
    expect((await env.docker(['export', '-o', join(env.dir, 'ev.tar'), renamed])).code).toBe(0);
    expect((await env.docker(['restart', '-t', '0', renamed])).code).toBe(0);
    expect((await env.docker(['rm', '-f', renamed])).code).toBe(0);
    expect((await env.docker(['volume', 'rm', vol])).code).toBe(0);

    // By ID: the name attribute changes with the rename, as in dockerd.
    const cont = await events(since, ['type=container', `container=${id}`], '{{.Action}}');
    expect(cont).toEqual([
      'create',
      'start',
      'exec_create: true',
      'exec_start: true',
      'exec_die',
      'top',
      'pause',
      'unpause',
      'update',
      'extract-to-dir',
      'archive-path',
      'rename',
      'export',
      // restart -t 0: SIGTERM, then SIGKILL at once (sleep as pid 1 ignores SIGTERM)
      'kill',
      'kill',
      'die',
      'stop',
      'start',
      'restart',
      'kill',
      'die',
      'destroy',
    ]);
    const vols = await events(since, ['type=volume', `volume=${vol}`], '{{.Action}}');
    expect(vols).toEqual(['create', 'mount', 'unmount', 'mount', 'unmount', 'destroy']);
    const nets = await events(since, ['type=network', 'network=bridge'], '{{.Action}} {{index .Actor.Attributes "container"}}');
    expect(nets.filter((l) => l.endsWith(id))).toEqual([`connect ${id}`, `disconnect ${id}`, `connect ${id}`, `disconnect ${id}`]);
  });

  it('timeNano is the exact integer nanoseconds, consistent with time', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const vols = [uid('daemonvol'), uid('daemonvol'), uid('daemonvol')];
    for (const v of vols) expect((await env.docker(['volume', 'create', v])).code).toBe(0);
    for (const v of vols) expect((await env.docker(['volume', 'rm', v])).code).toBe(0);
    const lines = await events(since, vols.map((v) => `volume=${v}`), '{{.Time}} {{.TimeNano}}');
    expect(lines).toHaveLength(6);
    const nanos = lines.map((l) => {
      const [time, nano] = l.split(' ');
      expect(nano).toMatch(/^[0-9]{19}$/);
      expect(nano!.slice(0, -9)).toBe(time);
      return BigInt(nano!);
    });
    for (let i = 1; i < nanos.length; i++) expect(nanos[i]! > nanos[i - 1]!).toBe(true);
    // Printed from a double (17 significant digits) every value would end in "00";
    // six exact ones all doing so has a chance of one in 10^12.
    expect(nanos.some((n) => n % 100n !== 0n)).toBe(true);
    // The raw JSON carries the digits themselves, not a float rendering.
    const raw = await new Promise<string>((resolve, reject) => {
      const q = `/events?since=${since}&until=${Math.floor(Date.now() / 1000) + 1}&filters=${encodeURIComponent(JSON.stringify({ volume: { [vols[0]!]: true } }))}`;
      const req = request({ socketPath: env.sock, path: q }, (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(raw).toContain(`"timeNano":${nanos[0]}}`);
  });

  it('image actions: tag, untag, save, import, delete, prune', async () => {
    const since = Date.now() / 1000;
    const tag = `daemon-ev/${uid('img')}:v1`;
    expect((await env.docker(['tag', 'busybox', tag])).code).toBe(0);
    expect((await env.docker(['save', '-o', join(env.dir, 'ev-save.tar'), tag])).code).toBe(0);
    expect((await env.docker(['rmi', tag])).code).toBe(0);
    const c = (await env.docker(['create', 'busybox', 'true'])).stdout.trim();
    expect((await env.docker(['export', '-o', join(env.dir, 'ev-root.tar'), c])).code).toBe(0);
    expect((await env.docker(['rm', c])).code).toBe(0);
    const imported = (await env.docker(['import', join(env.dir, 'ev-root.tar')])).stdout.trim();
    expect((await env.docker(['image', 'prune', '-f'])).code).toBe(0);
    const imgs = await events(since, ['type=image'], '{{.Action}}');
    expect(imgs).toEqual(['tag', 'save', 'untag', 'import', 'delete', 'prune']);
    expect(imported).toMatch(/^sha256:/);
  });

  it('system df counts images, containers with their writable layer, and volumes', async () => {
    const name = uid();
    const vol = uid('daemonvol');
    expect((await env.docker(['run', '--name', name, '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'head -c 300000 /dev/zero > /big; head -c 200000 /dev/zero > /data/v'])).code).toBe(0);
    const df = await env.docker(['system', 'df', '--format', '{{json .}}']);
    const rows = df.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const byType = Object.fromEntries(rows.map((r: any) => [r.Type, r]));
    expect(byType.Images.TotalCount).toBe('1');
    expect(byType.Images.Active).toBe('1');
    expect(byType.Containers.TotalCount).toBe('1');
    expect(byType.Containers.Size).toMatch(/^30\dkB$/);
    expect(byType['Local Volumes'].TotalCount).toBe('1');
    expect(byType['Local Volumes'].Size).toMatch(/^20\dkB$/);
    const v = await env.docker(['system', 'df', '-v', '--format', '{{range .Containers}}{{.Names}} {{.Size}}{{end}}']);
    expect(v.stdout.trim()).toMatch(new RegExp(`^${name} 30\\dkB`));
    const ps = await env.docker(['ps', '-a', '-s', '--filter', `name=${name}`, '--format', '{{.Size}}']);
    expect(ps.stdout.trim()).toMatch(/^30\dkB \(virtual [0-9.]+[kM]B\)$/);
    const exited = await env.docker(['system', 'df', '-v', '--format', '{{range .Containers}}{{.Status}}{{end}}']);
    expect(exited.stdout.trim()).toMatch(/^Exited \(0\) .+ ago$/);
    expect((await env.docker(['rm', name])).code).toBe(0);
    expect((await env.docker(['volume', 'rm', vol])).code).toBe(0);
    // A running container: the same "Up …" status docker ps shows.
    const up = uid();
    expect((await env.docker(['run', '-d', '--name', up, 'busybox', 'sleep', '300'])).code).toBe(0);
    const running = await env.docker(['system', 'df', '-v', '--format', '{{range .Containers}}{{.Names}}|{{.Status}}{{end}}']);
    expect(running.stdout.trim()).toMatch(new RegExp(`^${up}\\|Up [A-Za-z0-9 ]+$`));
    expect((await env.docker(['rm', '-f', up])).code).toBe(0);
  });

  it.skipIf(!existsSync('/sys/fs/cgroup/cpuacct'))('stats --no-stream: cpu %, memory usage / limit, pids and block I/O from cgroup v1', async () => {
    const name = uid();
    expect((await env.docker(['run', '-d', '--name', name, '--memory', '48m', 'busybox', 'sh', '-c', 'sleep 300 & while :; do :; done'])).code).toBe(0);
    const r = await env.docker(['stats', '--no-stream', '--format', '{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}|{{.BlockIO}}', name]);
    const [cpu, mem, memPerc, pids, blk] = r.stdout.trim().split('|');
    expect(Number(cpu!.replace('%', ''))).toBeGreaterThan(0);
    expect(mem).toMatch(/^[0-9.]+[KMG]?i?B \/ 48MiB$/);
    expect(memPerc).toMatch(/^[0-9.]+%$/);
    expect(pids).toBe('2');
    expect(blk).toMatch(/^[0-9.]+[kMG]?B \/ [0-9.]+[kMG]?B$/);
    const raw = JSON.parse((await env.docker(['stats', '--no-stream', '--format', '{{json .}}', name])).stdout);
    expect(raw.Name).toBe(name);
    expect((await env.docker(['rm', '-f', name])).code).toBe(0);
  });
});
