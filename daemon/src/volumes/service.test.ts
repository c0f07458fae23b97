import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VolumeService } from './service.js';

describe('VolumeService (local driver)', () => {
  let dir: string;
  let vols: VolumeService;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vol-unit-'));
    vols = new VolumeService(join(dir, 'volumes'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates named and generated volumes with Docker fields, and checks names and options', () => {
    const v = vols.create({ Name: 'data_1', Labels: { a: 'b' } });
    expect(v).toMatchObject({ Name: 'data_1', Driver: 'local', Scope: 'local', Labels: { a: 'b' }, Options: {}, Mountpoint: join(dir, 'volumes', 'data_1', '_data') });
    expect(vols.create({}).Name).toMatch(/^[0-9a-f]{64}$/);
    expect(() => vols.create({ Name: 'a/b' })).toThrow('includes invalid characters for a local volume name');
    expect(() => vols.create({ Name: 'x1', DriverOpts: { bogus: '1' } })).toThrow('invalid option: "bogus"');
    expect(() => vols.create({ Name: 'x2', DriverOpts: { size: '1g' } })).toThrow('quota size requested but no quota support');
    expect(() => vols.create({ Name: 'x3', DriverOpts: { type: 'tmpfs' } })).toThrow('missing required option: "device"');
    expect(() => vols.create({ Name: 'x4', Driver: 'other' })).toThrow('plugin "other" not found');
    expect(vols.list().map((x) => x.Name)).toHaveLength(2);
  });

  it('refuses to remove a volume in use, even with force; prunes anonymous ones unless all', () => {
    vols.create({ Name: 'used' });
    vols.create({ Name: 'named', Labels: { k: 'v' } });
    const anon = vols.create({}, true).Name;
    vols.users = (n) => (n === 'used' ? ['c1'] : []);
    expect(() => vols.remove('used')).toThrow('remove used: volume is in use - [c1]');
    expect(() => vols.remove('used', true)).toThrow('volume is in use');
    expect(() => vols.remove('nope')).toThrow('get nope: no such volume');
    expect(() => vols.remove('nope', true)).not.toThrow();
    expect(vols.prune(false).VolumesDeleted).toEqual([anon]);
    expect(vols.prune(true, ['k=other']).VolumesDeleted).toEqual([]);
    expect(vols.prune(true, ['k=v']).VolumesDeleted).toEqual(['named']);
    expect(vols.list().map((x) => x.Name)).toEqual(['used']);
  });

  it('fills a new volume once from the image directory, root mode included', () => {
    const img = join(dir, 'img');
    mkdirSync(join(img, 'sub'), { recursive: true });
    writeFileSync(join(img, 'sub', 'f'), 'x');
    chmodSync(join(img, 'sub', 'f'), 0o600);
    chmodSync(img, 0o710);
    const v = vols.create({ Name: 'fill' });
    vols.populate('fill', img);
    expect(statSync(v.Mountpoint).mode & 0o7777).toBe(0o710);
    expect(statSync(join(v.Mountpoint, 'sub', 'f')).mode & 0o777).toBe(0o600);
    rmSync(join(v.Mountpoint, 'sub'), { recursive: true });
    vols.populate('fill', img);
    expect(readdirSync(v.Mountpoint)).toEqual([]);
  });
});
