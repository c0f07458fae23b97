// berth pull/push/tag/rmi, the progress display and login/logout against Debian's
// docker-registry on 127.0.0.1 (one open, one behind htpasswd), through a real berthd;
// the docker CLI against the same daemon is the reference for the plain output.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures } from '../fixtures/index.js';
import { bins } from '../helpers.js';
import { type Registry, startRegistry } from '../images/registry.js';
import { type Daemon, DOCKER, guarded, startDaemon, uid } from './helpers.js';

const HAVE_REGISTRY = existsSync('/usr/bin/docker-registry');

/** Output lines with the repository name (which differs between the two clients' pushes) blanked. */
const plain = (text: string, repo: string) => text.replaceAll(repo, '<repo>').split('\n').sort();

describe.skipIf(!existsSync(DOCKER) || !HAVE_REGISTRY)('berth with a local registry', () => {
  let d: Daemon;
  let open: Registry;
  let locked: Registry;
  let regDirs: string[] = [];
  const user = { username: 'cli-user', password: 'cli-secret-pw' };

  beforeAll(async () => {
    regDirs = [mkdtempSync(join(tmpdir(), 'cli-registry-')), mkdtempSync(join(tmpdir(), 'cli-registry-auth-'))];
    open = await startRegistry(regDirs[0]);
    locked = await startRegistry(regDirs[1], { kind: 'basic', ...user });
    d = await startDaemon();
    expect((await d.berth(['load', '-i', fixtures().dockerArchive])).status).toBe(0);
  });
  afterAll(async () => {
    await d?.stop();
    await open?.stop();
    await locked?.stop();
    for (const dir of regDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('tag, push, rmi and pull print what docker prints off a terminal', async () => {
    await guarded(d, async () => {
      const ours = `${open.host}/cli/${uid('bb')}`;
      const theirs = `${open.host}/cli/${uid('bb')}`;
      expect(await d.berth(['tag', 'busybox', `${ours}:v1`])).toEqual({ status: 0, out: '', err: '' });
      expect((await d.berth(['tag', 'busybox', `${theirs}:v1`])).status).toBe(0);
      const pushOurs = await d.berth(['push', `${ours}:v1`]);
      const pushTheirs = await d.docker(['push', `${theirs}:v1`]);
      expect(pushOurs.status).toBe(0);
      expect(pushOurs.err).toBe('');
      expect(pushOurs.out).toMatch(/^The push refers to repository \[/);
      expect(pushOurs.out).toMatch(/\nv1: digest: sha256:[0-9a-f]{64} size: \d+\n/);
      // No progress bars and no escape sequences when stdout is not a terminal.
      expect(pushOurs.out).not.toContain('\x1b[');
      expect(plain(pushOurs.out, ours)).toEqual(plain(pushTheirs.out, theirs));
      // Pushing again: every layer already exists, the same for both clients.
      expect(plain((await d.berth(['push', `${ours}:v1`])).out, ours)).toEqual(plain((await d.docker(['push', `${theirs}:v1`])).out, theirs));
      expect(await d.berth(['rmi', `${ours}:v1`])).toEqual({ status: 0, out: `Untagged: ${ours}:v1\n`, err: '' });
      expect((await d.docker(['rmi', `${theirs}:v1`])).status).toBe(0);
      const pullOurs = await d.berth(['pull', `${ours}:v1`]);
      const pullTheirs = await d.docker(['pull', `${theirs}:v1`]);
      expect(pullOurs).toMatchObject({ status: 0, err: '' });
      expect(pullOurs.out).toMatch(/\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for /);
      expect(pullOurs.out.endsWith(`\n${ours}:v1\n`)).toBe(true);
      expect(plain(pullOurs.out, ours)).toEqual(plain(pullTheirs.out, theirs));
      // Up to date the second time; -q prints only the reference.
      const again = await d.berth(['pull', `${ours}:v1`]);
      expect(again.out).toContain(`Status: Image is up to date for ${ours}:v1\n`);
      expect(plain(again.out, ours)).toEqual(plain((await d.docker(['pull', `${theirs}:v1`])).out, theirs));
      expect(await d.berth(['pull', '-q', `${ours}:v1`])).toEqual({ status: 0, out: `${ours}:v1\n`, err: '' });
      expect(await d.berth(['run', '--rm', `${ours}:v1`, 'echo', 'pulled'])).toEqual({ status: 0, out: 'pulled\n', err: '' });
      // Missing things fail as docker's do.
      for (const args of [['pull', `${open.host}/cli/cli-nosuch:v1`], ['push', `${open.host}/cli/cli-nosuch:v1`], ['rmi', `${ours}:nosuch`], ['tag', 'cli-nosuch:v1', `${ours}:v2`]]) {
        const [o, t] = [await d.berth(args), await d.docker(args)];
        expect({ args, ...o }).toEqual({ args, ...t });
      }
      await d.berth(['rmi', `${ours}:v1`, `${theirs}:v1`]);
    });
  });

  it('pull on a terminal redraws each layer line in place (through script(1))', async (ctx) => {
    if (!existsSync('/usr/bin/script')) ctx.skip();
    await guarded(d, async () => {
      const ref = `${open.host}/cli/${uid('tty')}:v1`;
      expect((await d.berth(['tag', 'busybox', ref])).status).toBe(0);
      expect((await d.berth(['push', ref])).status).toBe(0);
      expect((await d.berth(['rmi', ref])).status).toBe(0);
      const cmd = `${process.execPath} ${bins.cli} -H ${d.host} pull ${ref}`;
      const out = await new Promise<string>((resolve) => {
        execFile('script', ['-qfec', cmd, '/dev/null'], { env: { ...process.env, HOME: d.dir } }, (_e, stdout) => resolve(String(stdout)));
      });
      // A layer's line is first written, then rewritten in place (cursor up, clear the
      // line, new text, cursor back down). The shimd content store still holds the blobs
      // after rmi, so the layer reports "Already exists" rather than a download.
      const layer = /\n([0-9a-f]{12}): [^\n]*\r?\n/.exec(out);
      expect(layer).not.toBeNull();
      expect(out).toMatch(new RegExp(`\x1b\\[\\d+A\r?\x1b\\[2K${layer?.[1]}: [^\x1b]+\r?\x1b\\[\\d+B`));
      expect(out).toMatch(/^v1: Pulling from /);
      expect(out).toContain(`Status: Downloaded newer image for ${ref}`);
      await d.berth(['rmi', ref]);
    });
  });

  it('login stores base64 credentials in config.json (0600), push needs them, logout removes them', async () => {
    await guarded(d, async () => {
      const config = mkdtempSync(join(tmpdir(), 'cli-login-'));
      const env = { BERTH_CONFIG: config };
      try {
        const ref = `${locked.host}/cli/${uid('auth')}:v1`;
        expect((await d.berth(['tag', 'busybox', ref])).status).toBe(0);
        const denied = await d.berth(['push', ref], { env });
        expect(denied.status).toBe(1);
        expect(denied.err).toMatch(/unauthorized|authentication required|401/i);
        const bad = await d.berth(['login', '-u', user.username, '--password-stdin', locked.host], { env, input: 'wrong\n' });
        expect(bad.status).toBe(1);
        expect(bad.err).toMatch(/^Error response from daemon: /);
        expect(existsSync(join(config, 'config.json')) && readFileSync(join(config, 'config.json'), 'utf8').includes(locked.host)).toBe(false);
        const login = await d.berth(['login', '-u', user.username, '--password-stdin', locked.host], { env, input: `${user.password}\n` });
        expect(login.status).toBe(0);
        expect(login.out).toBe('Login Succeeded\n');
        const file = join(config, 'config.json');
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const saved = JSON.parse(readFileSync(file, 'utf8'));
        expect(Buffer.from(saved.auths[locked.host].auth, 'base64').toString()).toBe(`${user.username}:${user.password}`);
        const pushed = await d.berth(['push', ref], { env });
        expect(pushed).toMatchObject({ status: 0, err: '' });
        expect(pushed.out).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
        expect((await d.berth(['rmi', ref])).status).toBe(0);
        expect((await d.berth(['pull', ref], { env })).status).toBe(0);
        expect(await d.berth(['logout', locked.host], { env })).toEqual({ status: 0, out: `Removing login credentials for ${locked.host}\n`, err: '' });
        expect(JSON.parse(readFileSync(file, 'utf8')).auths[locked.host]).toBeUndefined();
        expect(await d.berth(['logout', locked.host], { env })).toEqual({ status: 0, out: `Not logged in to ${locked.host}\n`, err: '' });
        expect((await d.berth(['rmi', ref])).status).toBe(0);
        const anonymous = await d.berth(['pull', ref], { env });
        expect(anonymous.status).toBe(1);
      } finally {
        rmSync(config, { recursive: true, force: true });
      }
    });
  });
});
