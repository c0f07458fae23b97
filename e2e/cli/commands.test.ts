// The berth commands that were tested only against a fake daemon, now against a real
// berthd + berth-shimd: port, update, pause/unpause, rename, wait, top, attach, stats,
// events, system df/info/prune, volumes, networks, cp, save/load/import/export. Where
// docker has the command and the output is deterministic, the docker CLI against the
// same daemon is the reference, line for line.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { type Daemon, DOCKER, exec, guarded, type Result, startDaemon, uid } from './helpers.js';

/** One container's cgroup file under a v1 controller, wherever berthd's cgroupsPath put it. */
function cgroupFile(controller: string, id: string, file: string): string | undefined {
  for (const dir of [join('/sys/fs/cgroup', controller, 'berth', id), join('/sys/fs/cgroup', controller, 'berth', 'default', id), join('/sys/fs/cgroup', controller, id)]) {
    if (existsSync(join(dir, file))) return readFileSync(join(dir, file), 'utf8').trim();
  }
  return undefined;
}

describe.skipIf(!existsSync(DOCKER))('berth commands against berthd, docker CLI as the reference', () => {
  let d: Daemon;
  let tmp: string;
  /** Runs the same arguments through both clients, one after the other. */
  const both = async (args: string[]): Promise<{ ours: Result; theirs: Result }> => ({ ours: await d.berth(args), theirs: await d.docker(args) });
  const expectSame = async (args: string[]) => {
    const { ours, theirs } = await both(args);
    expect({ args, ...ours }).toEqual({ args, ...theirs });
    return ours;
  };
  /** berth with its stdout redirected to a file (binary output: tar streams). */
  const toFile = (args: string[], file: string) => exec('/bin/sh', ['-c', '"$0" "$@" > "$BERTH_OUT"', process.execPath, bins.cli, ...args], { env: { ...process.env, BERTH_HOST: d.host, BERTH_OUT: file } });
  const running = async (name: string, args: string[] = [], cmd = ['sleep', '600']) => {
    const r = await d.berth(['run', '-d', '--name', name, ...args, 'busybox', ...cmd]);
    expect(r).toMatchObject({ status: 0, err: '' });
    return r.out.trim();
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'cli-cmds-'));
    d = await startDaemon();
    const load = await d.berth(['load', '-i', fixtures().dockerArchive]);
    expect(load).toMatchObject({ status: 0, out: 'Loaded image: busybox:latest\n' });
  });
  afterAll(async () => {
    await d?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('port lists published ports as docker does, and names a missing one', async () => {
    await guarded(d, async () => {
      const name = uid();
      await running(name, ['-p', '127.0.0.1:18391:80', '-p', '18392:81/udp'], ['httpd', '-f', '-p', '80']);
      for (const args of [['port', name], ['port', name, '80'], ['port', name, '80/tcp'], ['port', name, '81/udp'], ['port', name, '82'], ['port', name, '81/tcp'], ['port', 'cli-nosuch']]) await expectSame(args);
      expect((await d.berth(['port', name])).out).toBe('80/tcp -> 127.0.0.1:18391\n81/udp -> 0.0.0.0:18392\n');
      expect(await d.berth(['port', name, '82'])).toEqual({ status: 1, out: '', err: `Error: No public port '82' published for ${name}\n` });
    });
  });

  it('update changes memory, cpus and pids-limit: inspect and the cgroup read them back', async () => {
    await guarded(d, async () => {
      const name = uid();
      const id = await running(name);
      expect(await d.berth(['update', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', name])).toEqual({ status: 0, out: `${name}\n`, err: '' });
      const inspect = await d.berth(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}', name]);
      expect(inspect.out).toBe('67108864 500000000 50\n');
      expect(cgroupFile('memory', id, 'memory.limit_in_bytes')).toBe('67108864');
      expect(cgroupFile('pids', id, 'pids.max')).toBe('50');
      const quota = cgroupFile('cpu', id, 'cpu.cfs_quota_us');
      const period = cgroupFile('cpu', id, 'cpu.cfs_period_us');
      expect(Number(quota) / Number(period)).toBe(0.5);
      // Errors as docker's: no flags, a bad size, a missing container.
      for (const args of [['update', name], ['update', '--memory', '64m', 'cli-nosuch']]) await expectSame(args);
      const bad = await d.berth(['update', '--memory', '1x', name]);
      expect(bad.status).toBe(125);
      const docker = await d.docker(['update', '--memory', '1x', name]);
      expect(docker.status).toBe(125);
      expect(bad.err.split('\n')[0]).toBe(`invalid argument "1x" for "-m, --memory" flag: invalid suffix: 'x'`);
      expect(docker.err.split('\n')[0]).toBe(bad.err.split('\n')[0]);
    });
  });

  it('pause and unpause freeze the container; rename, top and wait behave as docker', async () => {
    await guarded(d, async () => {
      const name = uid();
      const id = await running(name);
      expect(await d.berth(['pause', name])).toEqual({ status: 0, out: `${name}\n`, err: '' });
      expect((await d.berth(['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', name])).out).toBe('paused true\n');
      expect(cgroupFile('freezer', id, 'freezer.state')).toBe('FROZEN');
      expect((await d.berth(['ps', '--format', '{{.Status}}', '-f', `name=${name}`])).out).toMatch(/\(Paused\)\n$/);
      await expectSame(['pause', name]);
      expect(await d.berth(['unpause', name])).toEqual({ status: 0, out: `${name}\n`, err: '' });
      expect(cgroupFile('freezer', id, 'freezer.state')).toBe('THAWED');
      await expectSame(['unpause', name]);
      for (const args of [['top', name], ['top', name, '-o', 'pid,comm'], ['top', name, 'aux'], ['top', 'cli-nosuch'], ['wait', 'cli-nosuch'], ['unpause', 'cli-nosuch']]) await expectSame(args);
      const other = uid();
      expect(await d.berth(['rename', name, other])).toEqual({ status: 0, out: '', err: '' });
      expect((await d.docker(['inspect', '-f', '{{.Name}}', id])).out).toBe(`/${other}\n`);
      await running(name);
      await expectSame(['rename', name, other]);
      // wait prints each container's status once it exits.
      const waited = d.berth(['wait', other, name]);
      await d.berth(['kill', other, name]);
      expect(await waited).toEqual({ status: 0, out: '137\n137\n', err: '' });
    });
  });

  it('attach streams a running container and ends with its exit status', async () => {
    await guarded(d, async () => {
      const name = uid();
      await running(name, ['-i'], ['sh', '-c', 'read line; echo "got $line"; echo to-err >&2; exit 7']);
      const r = await d.berth(['attach', name], { input: 'hello\n' });
      expect(r).toEqual({ status: 7, out: 'got hello\n', err: 'to-err\n' });
      const stopped = await d.berth(['attach', name]);
      expect(stopped).toEqual(await d.docker(['attach', name]));
      expect(stopped.status).toBe(1);
      const noStdin = uid();
      await running(noStdin, [], ['sh', '-c', 'sleep 3; echo late; exit 3']);
      expect(await d.berth(['attach', '--no-stdin', noStdin])).toEqual({ status: 3, out: 'late\n', err: '' });
    });
  });

  it('stats --no-stream and its --format match docker for a fixed field set', async () => {
    await guarded(d, async () => {
      const name = uid();
      await running(name);
      for (const args of [['stats', '--no-stream', '--format', '{{.Name}} {{.Container}} {{.PIDs}}', name], ['stats', '--no-stream', '--no-trunc', '--format', '{{.ID}} {{.Name}}', name], ['stats', '--no-stream', 'cli-nosuch']]) await expectSame(args);
      const table = await d.berth(['stats', '--no-stream', name]);
      expect(table.status).toBe(0);
      const [header, row] = table.out.split('\n');
      expect(header).toBe((await d.docker(['stats', '--no-stream', name])).out.split('\n')[0]);
      expect(row).toMatch(new RegExp(`^[0-9a-f]{12} +${name} +[\\d.]+% +[\\d.]+[KMG]?i?B / [\\d.]+[KMGT]?i?B +[\\d.]+% +\\S+ / \\S+ +\\S+ / \\S+ +1$`));
      const json = JSON.parse((await d.berth(['stats', '--no-stream', '--format', 'json', name])).out);
      expect(Object.keys(json).sort()).toEqual(Object.keys(JSON.parse((await d.docker(['stats', '--no-stream', '--format', 'json', name])).out)).sort());
    });
  });

  it('events: --since/--until replay, --filter and --format print as docker does', async () => {
    await guarded(d, async () => {
      const since = String(Math.floor(Date.now() / 1000) - 1);
      const name = uid();
      expect((await d.berth(['run', '--rm', '--name', name, 'busybox', 'sh', '-c', 'exit 2'])).status).toBe(2);
      const until = String(Math.floor(Date.now() / 1000) + 1);
      await new Promise((r) => setTimeout(r, 1100));
      const window = ['--since', since, '--until', until, '--filter', `container=${name}`];
      const actions = await d.berth(['events', ...window, '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}']);
      expect(actions.out).toContain(`container start ${name} <no value>\n`);
      expect(actions.out).toContain(`container die ${name} 2\n`);
      expect(actions.out).toContain(`container destroy ${name} <no value>\n`);
      for (const extra of [[], ['--filter', 'event=die'], ['--format', '{{json .}}'], ['--format', 'json'], ['--format', '{{.Status}} {{.ID}} {{.From}} {{.Scope}} {{.Time}} {{.TimeNano}}'], ['--filter', 'event=start', '--filter', 'event=destroy', '--format', '{{.Action}}']]) {
        await expectSame(['events', ...window, ...extra]);
      }
      // Relative times are the client's to convert, as docker's --since 10m.
      const relative = await d.berth(['events', '--since', '10m', '--until', '0s', '--filter', `container=${name}`, '--filter', 'event=die', '--format', '{{.Action}}']);
      expect(relative).toEqual({ status: 0, out: 'die\n', err: '' });
      // Live: a stream opened first shows a later container's start and die as they happen.
      const live = uid();
      const follower = spawn(process.execPath, [bins.cli, 'events', '--filter', `container=${live}`, '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { env: { ...process.env, BERTH_HOST: d.host } });
      let seen = '';
      follower.stdout.on('data', (b) => {
        seen += b;
      });
      try {
        await new Promise((r) => setTimeout(r, 500));
        expect((await d.berth(['run', '--rm', '--name', live, 'busybox', 'true'])).status).toBe(0);
        for (let i = 0; i < 100 && !seen.includes(`destroy ${live}`); i++) await new Promise((r) => setTimeout(r, 100));
        expect(seen).toContain(`start ${live}\n`);
        expect(seen).toContain(`die ${live}\n`);
        expect(seen).toContain(`destroy ${live}\n`);
      } finally {
        follower.kill();
      }
      const badTime = await d.berth(['events', '--since', 'yesterday-ish', '--until', '0s']);
      expect(badTime.status).not.toBe(0);
      expect(badTime.err).toContain('yesterday-ish');
    });
  });

  it('system df (and -v) and system info match docker', async () => {
    await guarded(d, async () => {
      const vol = uid('cli-vol');
      const name = uid();
      await running(name, ['-v', `${vol}:/data`], ['sh', '-c', 'dd if=/dev/zero of=/big bs=1k count=300 2>/dev/null; echo hello > /data/x; sleep 600']);
      const stopped = uid();
      try {
        expect((await d.berth(['create', '--name', stopped, 'busybox', 'true'])).status).toBe(0);
        for (let i = 0; i < 100 && (await d.berth(['exec', name, 'test', '-s', '/data/x'])).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
        for (const args of [['system', 'df'], ['system', 'df', '--format', '{{json .}}'], ['system', 'df', '--format', '{{.Type}}: {{.Size}} {{.Reclaimable}}'], ['info', '--format', '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}} {{.Driver}} {{.OSType}}'], ['system', 'info', '--format', '{{json .Name}}']]) {
          await expectSame(args);
        }
        // -v: relative times blanked (the two clients run a moment apart).
        const span = '(About a minute|About an hour|Less than a second|\\d+ seconds?|\\d+ minutes?|\\d+ hours?)';
        const blank = (t: string) =>
          t
            .replace(new RegExp(`${span} ago`, 'g'), '<t>')
            .replace(new RegExp(`Up ${span}`, 'g'), 'Up <t>')
            .replace(/ +/g, ' ');
        const { ours, theirs } = await both(['system', 'df', '-v']);
        expect(ours.status).toBe(0);
        expect(blank(ours.out)).toBe(blank(theirs.out));
        expect(ours.out).toContain(`${vol}`);
        const info = await d.berth(['system', 'info']);
        expect(info.status).toBe(0);
        expect(info.out).toMatch(/\n Containers: \d+\n {2}Running: \d+\n/);
        expect(info.out).toMatch(/\n Server Version: \S+/);
      } finally {
        // Also on failure: the volume tests after this one count every volume.
        await d.berth(['rm', '-f', name, stopped]);
        await d.berth(['volume', 'rm', vol]);
      }
    });
  });

  it('system prune removes stopped containers and says what it reclaimed', async () => {
    await guarded(d, async () => {
      const keep = uid();
      await running(keep);
      const gone = [uid(), uid()];
      const ids = [];
      for (const n of gone) ids.push((await d.berth(['create', '--name', n, 'busybox', 'true'])).out.trim());
      const declined = await d.berth(['system', 'prune'], { input: 'n\n' });
      expect(declined.out).toMatch(/^WARNING! This will remove:\n {2}- all stopped containers\n/);
      expect(declined.out).toContain('Are you sure you want to continue? [y/N] ');
      expect((await d.berth(['ps', '-aq', '--no-trunc'])).out).toContain(ids[0]);
      const r = await d.berth(['system', 'prune', '-f']);
      expect(r.status).toBe(0);
      expect(r.out).toMatch(/^Deleted Containers:\n/);
      for (const id of ids) expect(r.out).toContain(`${id}\n`);
      expect(r.out).toMatch(/\n\nTotal reclaimed space: \S+\n$/);
      const left = (await d.berth(['ps', '-a', '--format', '{{.Names}}'])).out;
      expect(left).toContain(keep);
      for (const n of gone) expect(left).not.toContain(n);
      // Nothing left to prune: docker's container prune prints the same.
      await expectSame(['container', 'prune', '-f']);
      await d.berth(['rm', '-f', keep]);
    });
  });

  it('volume create, ls, inspect, rm and prune match docker', async () => {
    await guarded(d, async () => {
      const names = [uid('cli-vol'), uid('cli-vol')];
      expect(await d.berth(['volume', 'create', '--label', 'owner=cli', names[0]])).toEqual({ status: 0, out: `${names[0]}\n`, err: '' });
      expect((await d.docker(['volume', 'create', names[1]])).status).toBe(0);
      // An anonymous volume (from -v /path) is what prune removes without -a.
      const holder = uid();
      expect((await d.berth(['create', '--name', holder, '-v', '/data', 'busybox'])).status).toBe(0);
      const anon = (await d.berth(['inspect', '-f', '{{range .Mounts}}{{.Name}}{{end}}', holder])).out.trim();
      expect(anon).toMatch(/^[0-9a-f]{64}$/);
      expect((await d.berth(['rm', holder])).status).toBe(0);
      const unnamed = (await d.berth(['volume', 'create'])).out.trim();
      expect(unnamed).toMatch(/^[0-9a-f]{64}$/);
      names.push(unnamed);
      for (const args of [['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '--format', '{{json .}}'], ['volume', 'ls', '-f', 'label=owner=cli'], ['volume', 'inspect', names[0]], ['volume', 'inspect', names[0], 'cli-nosuch'], ['inspect', names[1]], ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}', ...names], ['volume', 'rm', 'cli-nosuch']]) {
        await expectSame(args);
      }
      // In use: rm refuses, as docker's.
      const user = uid();
      await running(user, ['-v', `${names[0]}:/data`]);
      const inUse = await expectSame(['volume', 'rm', names[0]]);
      expect(inUse.status).toBe(1);
      await d.berth(['rm', '-f', user]);
      // prune: anonymous only by default, all unused with -a.
      const pruned = await d.berth(['volume', 'prune', '-f']);
      expect(pruned).toEqual({ status: 0, out: `Deleted Volumes:\n${anon}\n\nTotal reclaimed space: 0B\n`, err: '' });
      const all = await d.berth(['volume', 'prune', '-af']);
      expect(all.out.split('\n').slice(1, 4).sort()).toEqual([...names].sort());
      await expectSame(['volume', 'prune', '-af']);
      expect((await d.berth(['volume', 'ls', '-q'])).out).toBe('');
    });
  });

  it('network ls, inspect, create, rm, connect and disconnect against berthd', async () => {
    await guarded(d, async () => {
      for (const args of [['network', 'ls'], ['network', 'ls', '-q'], ['network', 'ls', '--no-trunc'], ['network', 'ls', '--format', '{{json .}}'], ['network', 'ls', '-f', 'driver=bridge'], ['network', 'inspect', 'bridge'], ['network', 'inspect', 'bridge', 'host', 'cli-nosuch'], ['network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Scope}}', 'none'], ['network', 'rm', 'cli-nosuch']]) {
        await expectSame(args);
      }
      const net = uid('cli-net');
      const container = uid();
      await running(container);
      const create = await d.berth(['network', 'create', '--label', 'owner=cli', '--subnet', '10.231.7.0/24', '--gateway', '10.231.7.1', net]);
      expect(create.out).toMatch(/^[0-9a-f]{64}\n$/);
      try {
        for (const args of [['network', 'ls'], ['network', 'ls', '-f', `name=${net}`, '--format', '{{json .}}'], ['network', 'inspect', net], ['network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels}} {{json .IPAM.Config}}', net], ['network', 'create', net]]) await expectSame(args);
        expect(await d.berth(['network', 'connect', net, container])).toEqual({ status: 0, out: '', err: '' });
        expect((await d.berth(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, container])).out).toMatch(/^10\.231\.7\.\d+\n$/);
        expect((await d.berth(['exec', container, 'ip', '-4', 'addr'])).out).toContain('inet 10.231.7.');
        // Connected twice, removed while in use: the daemon's refusals, as docker prints them.
        for (const args of [['network', 'connect', net, container], ['network', 'rm', net]]) {
          const same = await expectSame(args);
          expect(same.status).toBe(1);
        }
        expect(await d.berth(['network', 'disconnect', net, container])).toEqual({ status: 0, out: '', err: '' });
        expect((await d.berth(['inspect', '-f', `{{index .NetworkSettings.Networks "${net}"}}`, container])).out).toBe('<no value>\n');
        await expectSame(['network', 'disconnect', net, container]);
        const run = await d.berth(['run', '--rm', '--network', net, 'busybox', 'ip', '-4', 'addr', 'show', 'eth0']);
        expect(run.out).toContain('inet 10.231.7.');
      } finally {
        await d.berth(['rm', '-f', container]);
        // An unused network goes with prune.
        const pruned = await d.berth(['network', 'prune', '-f']);
        expect(pruned).toEqual({ status: 0, out: `Deleted Networks:\n${net}\n\n`, err: '' });
        expect((await d.berth(['network', 'ls', '-q', '-f', `name=${net}`])).out).toBe('');
      }
    });
  });

  it('cp copies files, directories and tar streams both ways, with docker errors', async () => {
    await guarded(d, async () => {
      const name = uid();
      await running(name);
      const src = join(tmp, 'cp-src');
      mkdirSync(join(src, 'sub'), { recursive: true });
      writeFileSync(join(src, 'a.txt'), 'alpha\n');
      writeFileSync(join(src, 'sub', 'b.txt'), 'beta\n');
      // host → container: a file into a directory, a file to a new name, a directory.
      expect(await d.berth(['cp', join(src, 'a.txt'), `${name}:/tmp/`])).toEqual({ status: 0, out: '', err: '' });
      expect(await d.berth(['cp', join(src, 'a.txt'), `${name}:/tmp/renamed.txt`])).toMatchObject({ status: 0 });
      expect(await d.berth(['cp', src, `${name}:/tmp/tree`])).toMatchObject({ status: 0 });
      expect((await d.berth(['exec', name, 'sh', '-c', 'cat /tmp/a.txt /tmp/renamed.txt /tmp/tree/a.txt /tmp/tree/sub/b.txt'])).out).toBe('alpha\nalpha\nalpha\nbeta\n');
      // Directories keep their modification time, as docker cp's do.
      // (whole seconds in the tar header: node-tar rounds where Go truncates, hence ±1).
      const mtime = Number((await d.berth(['exec', name, 'stat', '-c', '%Y', '/tmp/tree/sub'])).out);
      expect(Math.abs(mtime - statSync(join(src, 'sub')).mtimeMs / 1000)).toBeLessThanOrEqual(1);
      // container → host: a file, a directory to a new name and into an existing one.
      const back = join(tmp, 'cp-back');
      mkdirSync(back);
      expect(await d.berth(['cp', `${name}:/tmp/renamed.txt`, join(back, 'file.txt')])).toMatchObject({ status: 0 });
      expect(readFileSync(join(back, 'file.txt'), 'utf8')).toBe('alpha\n');
      expect(await d.berth(['cp', `${name}:/tmp/tree`, join(back, 'copy')])).toMatchObject({ status: 0 });
      expect(readFileSync(join(back, 'copy', 'sub', 'b.txt'), 'utf8')).toBe('beta\n');
      expect(await d.berth(['cp', `${name}:/tmp/tree`, back])).toMatchObject({ status: 0 });
      expect(statSync(join(back, 'tree', 'sub')).isDirectory()).toBe(true);
      // `-`: a tar stream out (same entries as docker's) and in.
      const file = join(tmp, 'out.tar');
      expect((await toFile(['cp', `${name}:/tmp/tree`, '-'], file)).status).toBe(0);
      const ours = (await exec('tar', ['-tf', file])).out.split('\n').sort();
      expect(ours).toEqual(['', 'tree/', 'tree/a.txt', 'tree/sub/', 'tree/sub/b.txt']);
      const tarball = join(tmp, 'in.tar');
      expect((await exec('tar', ['-cf', tarball, '-C', src, '.'])).status).toBe(0);
      expect((await d.berth(['exec', name, 'mkdir', '/tmp/from-tar'])).status).toBe(0);
      expect(await d.berth(['cp', '-', `${name}:/tmp/from-tar`], { input: readFileSync(tarball) })).toEqual({ status: 0, out: '', err: '' });
      expect((await d.berth(['exec', name, 'cat', '/tmp/from-tar/sub/b.txt'])).out).toBe('beta\n');
      // Errors as docker prints them.
      for (const args of [[`${name}:/cli-nosuch`, back], ['cli-nosuch:/x', back], [join(src, 'a.txt'), `${name}:/cli-nosuch/x/`], ['-', `${name}:/tmp/a.txt`], ['-', `${name}:/cli-nosuch`], [join(tmp, 'cli-nosuch'), `${name}:/tmp/`]]) {
        const { ours: o, theirs: t } = await both(['cp', ...args]);
        expect({ args, status: o.status }).toEqual({ args, status: t.status });
        if (args[0] !== join(src, 'a.txt')) expect({ args, err: o.err }).toEqual({ args, err: t.err });
      }
    });
  });

  it('save, load, export and import round-trip images and filesystems', async () => {
    await guarded(d, async () => {
      const tag = `cli-test/${uid('img')}:v1`;
      expect((await d.berth(['tag', 'busybox', tag])).status).toBe(0);
      const archive = join(tmp, 'saved.tar');
      expect(await d.berth(['save', '-o', archive, tag])).toEqual({ status: 0, out: '', err: '' });
      const streamed = join(tmp, 'streamed.tar');
      expect((await toFile(['save', tag], streamed)).status).toBe(0);
      expect(readFileSync(streamed).equals(readFileSync(archive))).toBe(true);
      await expectSame(['save', 'cli-nosuch:v9']);
      expect((await d.berth(['rmi', tag])).status).toBe(0);
      expect(await d.berth(['load', '-i', archive])).toEqual({ status: 0, out: `Loaded image: ${tag}\n`, err: '' });
      expect(await d.berth(['load'], { input: readFileSync(archive) })).toEqual({ status: 0, out: `Loaded image: ${tag}\n`, err: '' });
      for (const args of [['load', '-i', join(tmp, 'cli-nosuch.tar')], ['import', join(tmp, 'cli-nosuch.tar')]]) await expectSame(args);
      // export a container's filesystem, import it as an image with changes, run it.
      const name = uid();
      await running(name, [], ['sh', '-c', 'echo exported > /marker; sleep 600']);
      await new Promise((r) => setTimeout(r, 300));
      const flat = join(tmp, 'flat.tar');
      expect(await d.berth(['export', '-o', flat, name])).toEqual({ status: 0, out: '', err: '' });
      expect((await exec('tar', ['-tf', flat])).out.split('\n')).toContain('marker');
      await expectSame(['export', 'cli-nosuch']);
      const imported = `cli-test/${uid('imp')}:v1`;
      const imp = await d.berth(['import', '-c', 'CMD ["cat", "/marker"]', '-m', 'from cli', flat, imported]);
      expect(imp).toMatchObject({ status: 0, err: '' });
      expect(imp.out).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      expect((await d.berth(['inspect', '-f', '{{json .Config.Cmd}} {{.Comment}}', imported])).out).toBe('["cat","/marker"] from cli\n');
      expect(await d.berth(['run', '--rm', imported])).toEqual({ status: 0, out: 'exported\n', err: '' });
      const fromStdin = `cli-test/${uid('imp')}:v2`;
      expect(await d.berth(['import', '-', fromStdin], { input: readFileSync(flat) })).toMatchObject({ status: 0, err: '' });
      expect((await d.berth(['images', '-q', fromStdin])).out).toMatch(/^[0-9a-f]{12}\n$/);
      await d.berth(['rm', '-f', name]);
      await d.berth(['rmi', imported, fromStdin]);
    });
  });
});
