import { describe, expect, it } from 'vitest';
import { splitArgs, splitAtPositional } from './args.js';
import { resolveConfigDir, resolveHost } from './cli.js';
import { runOptions } from './commands/runopts.js';

describe('global arguments', () => {
  it('reads -H/--host and --config before the command', () => {
    const s = splitArgs(['-H', 'unix:///tmp/x.sock', '--config=/tmp/cfg', 'ps', '-a']);
    expect(s.globals).toEqual({ host: 'unix:///tmp/x.sock', config: '/tmp/cfg' });
    expect(s.command).toBe('ps');
    expect(s.rest).toEqual(['-a']);
  });

  it('maps management commands onto top-level ones', () => {
    expect(splitArgs(['container', 'ls', '-q'])).toMatchObject({ command: 'ps', rest: ['-q'] });
    expect(splitArgs(['image', 'rm', 'busybox'])).toMatchObject({ command: 'rmi', rest: ['busybox'] });
    expect(splitArgs(['container', 'inspect', 'x'])).toMatchObject({ command: 'inspect', rest: ['--type', 'container', 'x'] });
    expect(splitArgs(['image', 'pull', 'busybox'])).toMatchObject({ command: 'pull', rest: ['busybox'] });
  });

  it('sees --version and --help only before the command', () => {
    expect(splitArgs(['--version'])).toMatchObject({ version: true, command: undefined });
    expect(splitArgs(['run', '--help'])).toMatchObject({ help: false, command: 'run', rest: ['--help'] });
  });

  it('chooses the daemon host by flag, BERTH_HOST, DOCKER_HOST, default', () => {
    expect(resolveHost('unix:///a', { BERTH_HOST: 'unix:///b' })).toBe('unix:///a');
    expect(resolveHost(undefined, { BERTH_HOST: 'unix:///b', DOCKER_HOST: 'unix:///c' })).toBe('unix:///b');
    expect(resolveHost(undefined, { DOCKER_HOST: 'unix:///c' })).toBe('unix:///c');
    expect(resolveHost(undefined, {})).toBe('unix:///run/berth/berthd.sock');
    expect(resolveConfigDir(undefined, { HOME: '/home/u' })).toBe('/home/u/.berth');
  });
});

describe('run arguments', () => {
  it('stops at the image: the rest is the container command, flags included', () => {
    expect(splitAtPositional(['-it', '--rm', '-e', 'A=1', 'busybox', 'ls', '-la'], runOptions)).toEqual({
      head: ['-it', '--rm', '-e', 'A=1', 'busybox'],
      trailing: ['ls', '-la'],
    });
    expect(splitAtPositional(['--name=x', '-dp', '80:80', 'img', 'sh', '-c', 'echo'], runOptions)).toEqual({
      head: ['--name=x', '-dp', '80:80', 'img'],
      trailing: ['sh', '-c', 'echo'],
    });
    expect(splitAtPositional(['-v', '/a:/b', '--', 'img', '--weird'], runOptions)).toEqual({ head: ['-v', '/a:/b', 'img'], trailing: ['--weird'] });
  });
});
