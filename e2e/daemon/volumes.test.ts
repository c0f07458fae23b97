// Volumes through berthd with the real docker CLI: create/ls/inspect/rm/prune with
// Docker's JSON and filters, data shared between containers, the first mount filled
// from the image (owners and modes kept), anonymous volumes (image VOLUME, -v /path,
// --rm and rm -v), the local driver's type/device/o options, in-use conflicts and
// Docker's messages for bad mount specs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, IMAGE_CMD, IMAGE_ENV } from '../fixtures/index.js';
import { isRoot } from '../helpers.js';
import { api, DOCKER, type Env, startEnv, uid } from './harness.js';

/**
 * A docker-archive of busybox plus /srv/data (owned 1000:1000, mode 0750, with a
 * 0640 file in it) declared as a VOLUME, for the copy-on-first-mount tests.
 */
function volumeImage(dir: string, tag: string): string {
  const root = join(dir, 'img-rootfs');
  execFileSync('cp', ['-a', fixtures().rootfs, root]);
  mkdirSync(join(root, 'srv', 'data', 'sub'), { recursive: true });
  writeFileSync(join(root, 'srv', 'data', 'seed'), 'from-image\n');
  chmodSync(join(root, 'srv', 'data', 'seed'), 0o640);
  chmodSync(join(root, 'srv', 'data'), 0o750);
  for (const p of ['srv/data', 'srv/data/seed', 'srv/data/sub']) chownSync(join(root, p), 1000, 1000);
  const archive = join(dir, 'img-archive');
  mkdirSync(archive);
  const layer = join(archive, 'layer.tar');
  execFileSync('tar', ['--numeric-owner', '--sort=name', '-C', root, '-cf', layer, '.']);
  const diffId = createHash('sha256').update(readFileSync(layer)).digest('hex');
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Env: IMAGE_ENV, Cmd: IMAGE_CMD, Volumes: { '/srv/data': {} } },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`] },
    }),
  );
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  writeFileSync(join(archive, configName), config);
  writeFileSync(join(archive, 'manifest.json'), JSON.stringify([{ Config: configName, RepoTags: [tag], Layers: ['layer.tar'] }]));
  const out = join(dir, 'volume-image.tar');
  execFileSync('tar', ['-C', archive, '-cf', out, '.']);
  execFileSync('rm', ['-rf', root, archive]);
  return out;
}

const mountedAt = (path: string) =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[1] === path);

describe.skipIf(!isRoot || !existsSync(DOCKER))('berthd: volumes', () => {
  let env: Env;
  const image = `vol-img-${process.pid}:latest`;
  beforeAll(async () => {
    env = await startEnv();
    expect((await env.docker(['load', '-i', fixtures().dockerArchive])).code).toBe(0);
    const load = await env.docker(['load', '-i', volumeImage(env.dir, image)]);
    expect(load.stderr).toBe('');
  });
  afterAll(async () => {
    if (env) {
      const vols = (await env.docker(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
      const ids = (await env.docker(['ps', '-aq'])).stdout.split('\n').filter(Boolean);
      if (ids.length) await env.docker(['rm', '-f', ...ids]);
      if (vols.length) await env.docker(['volume', 'rm', '-f', ...vols]);
    }
    await env?.stop();
  });

  const volumesDir = () => join(env.dir, 'data', 'volumes');

  it('create, ls with filters, inspect as Docker shows it, rm', async () => {
    const a = uid('vol');
    const b = uid('vol');
    expect((await env.docker(['volume', 'create', '--label', 'team=blue', '--label', 'tier', a])).stdout.trim()).toBe(a);
    expect((await env.docker(['volume', 'create', b])).stdout.trim()).toBe(b);
    const gen = (await env.docker(['volume', 'create'])).stdout.trim();
    expect(gen).toMatch(/^[0-9a-f]{64}$/);

    const [v] = JSON.parse((await env.docker(['volume', 'inspect', a])).stdout);
    expect(v).toEqual({
      Name: a,
      Driver: 'local',
      Mountpoint: join(volumesDir(), a, '_data'),
      CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      Labels: { team: 'blue', tier: '' },
      Scope: 'local',
      Options: {},
    });
    const ls = async (...f: string[]) =>
      (await env.docker(['volume', 'ls', '-q', ...f.flatMap((x) => ['--filter', x])])).stdout
        .split('\n')
        .filter(Boolean)
        .sort();
    expect(await ls('label=team=blue')).toEqual([a]);
    expect(await ls('label=tier')).toEqual([a]);
    expect(await ls(`name=${b}`)).toEqual([b]);
    expect(await ls('dangling=true')).toEqual([a, b, gen].sort());
    const fmt = await env.docker(['volume', 'ls', '--filter', `name=${a}`, '--format', '{{.Driver}} {{.Name}}']);
    expect(fmt.stdout.trim()).toBe(`local ${a}`);
    // Creating an existing volume again is not an error and changes nothing.
    expect((await env.docker(['volume', 'create', a])).code).toBe(0);

    expect((await env.docker(['volume', 'rm', a, b, gen])).stdout.trim().split('\n')).toEqual([a, b, gen]);
    expect(existsSync(join(volumesDir(), a))).toBe(false);
    const gone = await env.docker(['volume', 'inspect', a]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain(`get ${a}: no such volume`);
    expect((await api(env.sock, 'DELETE', `/volumes/${a}`)).status).toBe(404);
    expect((await api(env.sock, 'DELETE', `/volumes/${a}?force=1`)).status).toBe(204);
  });

  it('bad volume requests get Docker messages and leave nothing', async () => {
    const bad = await env.docker(['volume', 'create', '-o', 'colour=red', uid('vol')]);
    expect(bad.stderr).toContain('invalid option: "colour"');
    const noType = await env.docker(['volume', 'create', '-o', 'device=/dev/null', uid('vol')]);
    expect(noType.stderr).toContain('missing required option: "type"');
    const badName = await api(env.sock, 'POST', '/volumes/create', { Name: 'has space' });
    expect(badName.status).toBe(400);
    expect(badName.json.message).toContain('includes invalid characters for a local volume name');
    const driver = await env.docker(['volume', 'create', '-d', 'nfs-plugin', uid('vol')]);
    expect(driver.stderr).toContain('plugin "nfs-plugin" not found');
    expect((await env.docker(['volume', 'ls', '-q'])).stdout).toBe('');
  });

  it('data written through one container is read by the next; the files live under the data root', async () => {
    const vol = uid('vol');
    const w = await env.docker(['run', '--rm', '-v', `${vol}:/data`, 'busybox', 'sh', '-c', 'echo x > /data/f']);
    expect(w.stderr).toBe('');
    expect(readFileSync(join(volumesDir(), vol, '_data', 'f'), 'utf8')).toBe('x\n');
    const r = await env.docker(['run', '--rm', '--mount', `type=volume,source=${vol},target=/other`, 'busybox', 'cat', '/other/f']);
    expect(r.stdout).toBe('x\n');
    // --rm removed the containers but not the named volume.
    expect((await env.docker(['volume', 'ls', '-q', '--filter', `name=${vol}`])).stdout.trim()).toBe(vol);
    expect((await env.docker(['volume', 'rm', vol])).code).toBe(0);
  });

  it('a new volume is filled from the image with owners and modes; only on first mount', async () => {
    const vol = uid('vol');
    const show = 'stat -c "%a %u:%g %n" /srv/data /srv/data/seed /srv/data/sub; cat /srv/data/seed';
    const first = await env.docker(['run', '--rm', '-v', `${vol}:/srv/data`, image, 'sh', '-c', `${show}; rm /srv/data/seed`]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe('750 1000:1000 /srv/data\n640 1000:1000 /srv/data/seed\n755 1000:1000 /srv/data/sub\nfrom-image\n');
    // The volume is no longer new: what the container removed stays removed.
    const second = await env.docker(['run', '--rm', '-v', `${vol}:/srv/data`, image, 'ls', '/srv/data']);
    expect(second.stdout).toBe('sub\n');
    // nocopy leaves a new volume empty.
    const empty = uid('vol');
    const nocopy = await env.docker(['run', '--rm', '-v', `${empty}:/srv/data:nocopy`, image, 'ls', '-A', '/srv/data']);
    expect(nocopy.stdout).toBe('');
    expect((await env.docker(['volume', 'rm', vol, empty])).code).toBe(0);
  });

  it('anonymous volumes: image VOLUME and -v /path; rm -v and --rm remove them, prune takes the rest', async () => {
    const name = uid();
    const run = await env.docker(['run', '--name', name, '-v', '/scratch', image, 'sh', '-c', 'cat /srv/data/seed; echo s > /scratch/s']);
    expect(run.stdout).toBe('from-image\n');
    const mounts = JSON.parse((await env.docker(['inspect', '--format', '{{json .Mounts}}', name])).stdout);
    const anon = mounts.filter((m: any) => m.Type === 'volume').sort((x: any, y: any) => x.Destination.localeCompare(y.Destination));
    expect(anon.map((m: any) => m.Destination)).toEqual(['/scratch', '/srv/data']);
    for (const m of anon) {
      expect(m.Name).toMatch(/^[0-9a-f]{64}$/);
      expect(m).toMatchObject({ Driver: 'local', Source: join(volumesDir(), m.Name, '_data'), RW: true });
    }
    expect((await env.docker(['rm', '-v', name])).code).toBe(0);
    for (const m of anon) expect((await env.docker(['volume', 'inspect', m.Name])).code).not.toBe(0);

    // --rm takes its anonymous volumes along.
    const before = (await env.docker(['volume', 'ls', '-q'])).stdout;
    expect((await env.docker(['run', '--rm', '-v', '/tmp/x', image, 'true'])).code).toBe(0);
    expect((await env.docker(['volume', 'ls', '-q'])).stdout).toBe(before);

    // Without -v they stay, dangling, until prune (which keeps named volumes unless -a).
    const kept = uid();
    expect((await env.docker(['run', '--name', kept, image, 'true'])).code).toBe(0);
    const named = uid('vol');
    expect((await env.docker(['volume', 'create', '--label', 'prune-me=1', named])).code).toBe(0);
    const labelled = uid('vol');
    expect((await env.docker(['volume', 'create', '--label', 'keep=1', labelled])).code).toBe(0);
    const anonName = JSON.parse((await env.docker(['inspect', '--format', '{{json .Mounts}}', kept])).stdout)[0].Name;
    expect((await env.docker(['volume', 'prune', '-f'])).stdout).not.toContain(anonName); // still used by `kept`
    expect((await env.docker(['rm', kept])).code).toBe(0);
    const pruned = await env.docker(['volume', 'prune', '-f']);
    expect(pruned.stdout).toContain(anonName);
    expect(pruned.stdout).not.toContain(named);
    const all = await env.docker(['volume', 'prune', '-a', '-f', '--filter', 'label=prune-me']);
    expect(all.stdout).toContain(named);
    expect(all.stdout).not.toContain(labelled);
    expect((await env.docker(['volume', 'ls', '-q'])).stdout.trim()).toBe(labelled);
    expect((await env.docker(['volume', 'rm', labelled])).code).toBe(0);
  });

  it('a volume in use cannot be removed (409, even with force)', async () => {
    const vol = uid('vol');
    const holder = uid();
    expect((await env.docker(['create', '--name', holder, '-v', `${vol}:/x`, 'busybox', 'true'])).code).toBe(0);
    const id = (await env.docker(['inspect', '--format', '{{.Id}}', holder])).stdout.trim();
    const r = await api(env.sock, 'DELETE', `/volumes/${vol}`);
    expect(r.status).toBe(409);
    expect(r.json.message).toBe(`remove ${vol}: volume is in use - [${id}]`);
    expect((await api(env.sock, 'DELETE', `/volumes/${vol}?force=1`)).status).toBe(409);
    expect((await env.docker(['volume', 'ls', '-q', '--filter', 'dangling=false'])).stdout.trim()).toBe(vol);
    expect((await env.docker(['rm', holder])).code).toBe(0);
    expect((await env.docker(['volume', 'rm', vol])).code).toBe(0);
  });

  it('the local driver mounts type/device/o at first use and unmounts when the last user goes', async () => {
    const vol = uid('vol');
    expect((await env.docker(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m,mode=0770', vol])).code).toBe(0);
    const [v] = JSON.parse((await env.docker(['volume', 'inspect', vol])).stdout);
    expect(v.Options).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=2m,mode=0770' });
    expect(mountedAt(v.Mountpoint)).toBe(false);
    const name = uid();
    const r = await env.docker(['run', '--name', name, '-v', `${vol}:/t`, 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts | cut -d" " -f3; stat -c %a /t; df -k /t | tail -1']);
    expect(r.stderr).toBe('');
    const [fstype, mode, df] = r.stdout.trim().split('\n');
    expect(fstype).toBe('tmpfs');
    expect(mode).toBe('770');
    expect(df?.split(/\s+/)[1]).toBe('2048');
    expect(mountedAt(v.Mountpoint)).toBe(true);
    expect((await env.docker(['rm', name])).code).toBe(0);
    expect(mountedAt(v.Mountpoint)).toBe(false);
    expect((await env.docker(['volume', 'rm', vol])).code).toBe(0);

    const broken = uid('vol');
    expect((await env.docker(['volume', 'create', '-o', 'type=ext4', '-o', `device=${join(env.dir, 'no-such-device')}`, broken])).code).toBe(0);
    const fail = await env.docker(['run', '--rm', '-v', `${broken}:/b`, 'busybox', 'true']);
    expect(fail.code).not.toBe(0);
    expect(fail.stderr).toContain(`error while mounting volume '${join(volumesDir(), broken, '_data')}'`);
    expect((await env.docker(['ps', '-aq'])).stdout).toBe('');
    expect((await env.docker(['volume', 'rm', broken])).code).toBe(0);
  });

  it('bad mount specs get Docker messages and create nothing', async () => {
    const missing = join(env.dir, 'no-such-dir');
    const cases: [string[], string][] = [
      [['--mount', `type=bind,source=${missing},target=/m`], `invalid mount config for type "bind": bind source path does not exist: ${missing}`],
      [['--mount', 'type=tmpfs,source=/x,target=/m'], 'invalid mount config for type "tmpfs": field Source must not be specified'],
    ];
    for (const [args, message] of cases) {
      const r = await env.docker(['run', '--rm', ...args, 'busybox', 'true']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
    }
    const rel = await api(env.sock, 'POST', '/containers/create', { Image: 'busybox', HostConfig: { Mounts: [{ Type: 'volume', Source: uid('vol'), Target: 'relative' }] } });
    expect(rel.status).toBe(400);
    expect(rel.json.message).toBe(`invalid mount config for type "volume": invalid mount path: 'relative' mount path must be absolute`);
    const dup = await api(env.sock, 'POST', '/containers/create', { Image: 'busybox', HostConfig: { Binds: [`${uid('vol')}:/d`, `${uid('vol')}:/d`] } });
    expect(dup.status).toBe(400);
    expect(dup.json.message).toBe('Duplicate mount point: /d');
    expect((await env.docker(['ps', '-aq'])).stdout).toBe('');
    expect((await env.docker(['volume', 'ls', '-q'])).stdout).toBe('');
  });
});
