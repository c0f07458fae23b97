// The same daemon answers, printed by the docker CLI (28.x, the reference client)
// and by berth: list outputs must match line for line.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDaemon } from '../testing/fake-daemon.js';
import { berth } from '../testing/run-berth.js';
import * as samples from '../testing/samples.js';

const DOCKER = '/usr/local/bin/docker';
const run = promisify(execFile);

describe.skipIf(!existsSync(DOCKER))('output matches the docker CLI', () => {
  let d: FakeDaemon;
  beforeAll(async () => {
    d = await new FakeDaemon().listen();
    d.reply('GET', /^\/containers\/json$/, 200, samples.containers);
    d.reply('GET', /^\/images\/json$/, 200, samples.images);
    d.reply('GET', /^\/volumes$/, 200, samples.volumes);
    d.reply('GET', /^\/networks$/, 200, samples.networks);
  });
  afterAll(() => d.close());

  async function both(args: string[]): Promise<[string, string]> {
    const docker = await run(DOCKER, args, { env: { ...process.env, DOCKER_HOST: d.host, DOCKER_CONFIG: '/nonexistent-cli-docker-config' } });
    const ours = await berth(d.host, args);
    expect(ours.err).toBe('');
    expect(ours.status).toBe(0);
    return [docker.stdout, ours.out];
  }

  const exact: string[][] = [
    ['ps'],
    ['ps', '-a', '--no-trunc'],
    ['ps', '-s'],
    ['ps', '-q'],
    ['ps', '--format', '{{json .}}'],
    ['ps', '--format', 'table {{.Names}}\\t{{.Ports}}\\t{{.Label "owner"}}\\t{{.Mounts}}'],
    ['ps', '--format', '{{.ID}} {{.Image}} {{.Command}} {{.Networks}} {{.LocalVolumes}} {{.State}}'],
    ['volume', 'ls'],
    ['volume', 'ls', '--format', '{{json .}}'],
    ['volume', 'ls', '-q'],
    ['network', 'ls'],
    ['network', 'ls', '--no-trunc'],
    ['network', 'ls', '--format', 'table {{.Name}}\\t{{.IPv6}}\\t{{.Internal}}\\t{{.Labels}}'],
  ];
  for (const args of exact) {
    it(`berth ${args.join(' ')}`, async () => {
      const [docker, ours] = await both(args);
      expect(ours.split('\n')).toEqual(docker.split('\n'));
    });
  }

  // docker walks an image's repositories in Go map order, so rows of one image may
  // come in either order: compare the header exactly and the rows as a set.
  const images: string[][] = [['images'], ['images', '--digests'], ['images', '--format', '{{json .}}'], ['images', '--format', 'table {{.Repository}}:{{.Tag}}\\t{{.Size}}\\t{{.Containers}}'], ['images', '-q']];
  for (const args of images) {
    it(`berth ${args.join(' ')}`, async () => {
      const [docker, ours] = await both(args);
      const hasHeader = !args.includes('-q') && !args.some((a) => a.startsWith('{{'));
      const dl = docker.split('\n');
      const ol = ours.split('\n');
      if (hasHeader) expect(ol.shift()).toBe(dl.shift());
      expect(ol.sort()).toEqual(dl.sort());
    });
  }
});
