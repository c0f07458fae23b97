// berth against a real berthd + berth-shimd, with the docker CLI against the same
// daemon as the reference: same state, same output line for line (times aside).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { type Daemon, DOCKER, startDaemon, uid } from './helpers.js';

const TIME = /^(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes|hours|days|weeks|months|years)) ago$/;

/** Table rows as cells, with relative times blanked (the two clients run a moment apart). */
function cells(table: string): string[][] {
  return table
    .split('\n')
    .map((l) => l.split(/ {3,}/).map((c) => (TIME.test(c.trim()) ? '<time>' : c)));
}

describe.skipIf(!existsSync(DOCKER))('berth against berthd, compared with the docker CLI', () => {
  let d: Daemon;
  const tag = `cli-test/${uid('img')}:v1`;
  const names = [uid(), uid(), uid()];

  beforeAll(async () => {
    d = await startDaemon();
    const load = await d.berth(['load', '-i', fixtures().dockerArchive]);
    expect(load.err).toBe('');
    expect(load.out).toBe('Loaded image: busybox:latest\n');
    expect((await d.berth(['tag', 'busybox', tag])).status).toBe(0);
    const create = [
      ['create', '--name', names[0], '-l', 'owner=cli', '-l', 'tier=web', 'busybox', 'sh', '-c', 'echo a long command line here'],
      ['create', '--name', names[1], '-p', '18080:80', '-e', 'A=1', tag, 'httpd', '-f'],
      ['create', '--name', names[2], 'busybox'],
    ];
    for (const args of create) {
      const r = await d.berth(args);
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^[0-9a-f]{64}\n$/);
    }
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('images: default table, -q, --digests, --no-trunc and templates match docker', async () => {
    for (const args of [['images'], ['images', '-q'], ['images', '--no-trunc'], ['images', '--digests'], ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'], ['images', '--format', 'table {{.Repository}}\t{{.Size}}\t{{.CreatedAt}}']]) {
      const [ours, theirs] = await Promise.all([d.berth(args), d.docker(args)]);
      expect(ours.status).toBe(theirs.status);
      expect(ours.out.split('\n').sort()).toEqual(theirs.out.split('\n').sort());
    }
    const ours = await d.berth(['images', '--format', '{{json .}}']);
    const theirs = await d.docker(['images', '--format', '{{json .}}']);
    const parse = (t: string) => t.trim().split('\n').map((l) => ({ ...JSON.parse(l), CreatedSince: '' })).sort((a, b) => (a.Repository < b.Repository ? -1 : 1));
    expect(parse(ours.out)).toEqual(parse(theirs.out));
  });

  it('ps: default table, --no-trunc, -q, filters and templates match docker', async () => {
    const stable = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Labels}}';
    const exact = [['ps', '-a', '--format', stable], ['ps', '-a', '-q'], ['ps'], ['ps', '-a', '--format', '{{.Names}} {{.Label "owner"}} {{.State}} {{.Mounts}}'], ['ps', '-a', '-f', `name=${names[0]}`, '--format', stable], ['ps', '-a', '-f', 'label=owner=cli', '-q']];
    for (const args of exact) {
      const [ours, theirs] = await Promise.all([d.berth(args), d.docker(args)]);
      expect({ args, status: ours.status, out: ours.out.split('\n') }).toEqual({ args, status: theirs.status, out: theirs.out.split('\n') });
    }
    for (const args of [['ps', '-a'], ['ps', '-a', '--no-trunc'], ['ps', '-a', '-s']]) {
      const [ours, theirs] = await Promise.all([d.berth(args), d.docker(args)]);
      expect(cells(ours.out)).toEqual(cells(theirs.out));
    }
    const json = async (run: (a: string[]) => Promise<{ out: string }>) =>
      (await run(['ps', '-a', '--format', '{{json .}}'])).out
        .trim()
        .split('\n')
        .map((l) => ({ ...JSON.parse(l), RunningFor: '' }));
    expect(await json(d.berth)).toEqual(await json(d.docker));
  });

  it('daemon errors print and exit as docker does', async () => {
    for (const args of [['rm', 'cli-nosuch'], ['rmi', 'cli-nosuch:v9'], ['rename', 'cli-nosuch', 'cli-other'], ['start', 'cli-nosuch'], ['logs', 'cli-nosuch'], ['inspect', '--type', 'container', 'cli-nosuch'], ['inspect', 'cli-nosuch'], ['inspect', '--type', 'image', 'cli-nosuch'], ['wait', 'cli-nosuch'], ['kill', 'cli-nosuch'], ['stop', 'cli-nosuch'], ['pause', 'cli-nosuch']]) {
      const [ours, theirs] = await Promise.all([d.berth(args), d.docker(args)]);
      expect({ args, status: ours.status, out: ours.out, err: ours.err }).toEqual({ args, status: theirs.status, out: theirs.out, err: theirs.err });
    }
  });

  it('inspect, rename, tag and rmi change what both clients see', async () => {
    const f = await d.berth(['inspect', '-f', '{{.Name}} {{index .Config.Labels "owner"}} {{.Config.Image}}', names[0]]);
    expect(f).toMatchObject({ status: 0, out: `/${names[0]} cli busybox\n` });
    const all = JSON.parse((await d.berth(['inspect', names[1]])).out);
    expect(all).toHaveLength(1);
    expect(all[0].Config.Env).toContain('A=1');
    const renamed = uid();
    expect((await d.berth(['rename', names[2], renamed])).status).toBe(0);
    expect((await d.docker(['ps', '-a', '--format', '{{.Names}}'])).out.split('\n')).toContain(renamed);
    names[2] = renamed;
    const extra = `cli-test/${uid('tag')}:x`;
    expect((await d.berth(['tag', 'busybox', extra])).status).toBe(0);
    expect((await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).out).toContain(extra);
    const rmi = await d.berth(['rmi', extra]);
    expect(rmi).toMatchObject({ status: 0, out: `Untagged: ${extra}\n` });
  });

  it('save writes an archive that load reads back', async () => {
    const file = join(d.dir, 'cli-save.tar');
    expect((await d.berth(['save', '-o', file, tag])).status).toBe(0);
    expect(existsSync(file)).toBe(true);
    const r = await d.berth(['load', '-q', '-i', file]);
    expect(r).toMatchObject({ status: 0, err: '' });
    expect(r.out).toContain(tag.replace(/^docker\.io\//, ''));
  });

  it('version and info describe client and server', async () => {
    const v = await d.berth(['version']);
    expect(v.status).toBe(0);
    expect(v.out).toMatch(/^Client:\n Version: +\S+/);
    expect(v.out).toMatch(/\nServer: .*\n Engine:\n {2}Version: +\S+/);
    const vf = await d.berth(['version', '--format', '{{.Server.ApiVersion}}']);
    expect(vf.out.trim()).toBe(JSON.parse((await d.docker(['version', '--format', '{{json .Server}}'])).out).ApiVersion);
    const i = await d.berth(['info', '--format', '{{.Containers}} {{.Images}}']);
    const di = await d.docker(['info', '--format', '{{.Containers}} {{.Images}}']);
    expect(i.out).toBe(di.out);
  });

  it('volume create, ls, inspect and rm match docker', async () => {
    const name = uid('cli-vol');
    expect(await d.berth(['volume', 'create', '--label', 'owner=cli', name])).toMatchObject({ status: 0, out: `${name}\n` });
    try {
      for (const args of [['volume', 'ls'], ['volume', 'ls', '-q'], ['volume', 'ls', '--format', '{{json .}}'], ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels}}', name]]) {
        const [ours, theirs] = await Promise.all([d.berth(args), d.docker(args)]);
        expect({ args, ...ours }).toEqual({ args, ...theirs });
      }
    } finally {
      expect(await d.berth(['volume', 'rm', name])).toMatchObject({ status: 0, out: `${name}\n` });
    }
  });

  it('network ls and inspect match docker', async () => {
    for (const args of [['network', 'ls'], ['network', 'ls', '--no-trunc'], ['network', 'ls', '--format', '{{json .}}'], ['network', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'bridge']]) {
      const [ours, theirs] = await Promise.all([d.berth(args), d.docker(args)]);
      expect({ args, ...ours }).toEqual({ args, ...theirs });
    }
    // create/connect/disconnect/rm are in commands.test.ts.
  });

  it('rm removes the containers it names', async () => {
    const r = await d.berth(['rm', ...names]);
    expect(r).toEqual({ status: 0, out: `${names.join('\n')}\n`, err: '' });
    expect((await d.docker(['ps', '-aq'])).out).toBe('');
  });
});
