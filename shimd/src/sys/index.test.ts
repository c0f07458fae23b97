// receiveConsole against a real unix socket: a sender process connects, passes an
// fd with SCM_RIGHTS and exits before the shim looks, as a runtime does with its
// --console-socket. Python's socket.send_fds is the sender (Node cannot send fds).
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { receiveConsole } from './index.js';

const SENDER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
if sys.argv[2] == 'fd':
    fd = os.open(sys.argv[3], os.O_WRONLY)
    socket.send_fds(s, [b'/dev/pts/99'], [fd])
elif sys.argv[2] == 'two':
    a = os.open(sys.argv[3], os.O_WRONLY)
    b = os.open(sys.argv[3], os.O_RDONLY)
    socket.send_fds(s, [b'/dev/pts/99'], [a, b])
else:
    s.sendall(b'no fd here')
s.close()
`;

function send(path: string, mode: 'fd' | 'two' | 'data', file = ''): void {
  const r = spawnSync('python3', ['-c', SENDER, path, mode, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sender failed: ${r.stderr || r.error}`);
}

const openFds = (): number => readdirSync('/proc/self/fd').length;

describe('receiveConsole', () => {
  let dir: string;
  let file: string;
  let fdsBefore: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shimd-console-'));
    file = join(dir, 'target');
    writeFileSync(file, '');
    fdsBefore = openFds();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the fd the sender passed, after the sender has exited', async () => {
    const sock = join(dir, 'c.sock');
    const rc = receiveConsole(sock);
    send(sock, 'fd', file);
    const fd = await rc.take();
    try {
      expect(fstatSync(fd).ino).toBe(statSync(file).ino);
    } finally {
      closeSync(fd);
    }
    rc.close(); // idempotent after take
    expect(openFds()).toBe(fdsBefore);
  });

  it('keeps the first fd and closes any further ones', async () => {
    const sock = join(dir, 'c.sock');
    const rc = receiveConsole(sock);
    send(sock, 'two', file);
    const fd = await rc.take();
    expect(fstatSync(fd).ino).toBe(statSync(file).ino);
    closeSync(fd);
    expect(openFds()).toBe(fdsBefore);
  });

  it('fails clearly when the sender sends data but no fd', async () => {
    const sock = join(dir, 'c.sock');
    const rc = receiveConsole(sock);
    send(sock, 'data');
    await expect(rc.take()).rejects.toThrow(/sent no fd/);
    expect(openFds()).toBe(fdsBefore);
  });

  it('fails clearly when nobody connects', async () => {
    const rc = receiveConsole(join(dir, 'c.sock'));
    await expect(rc.take()).rejects.toThrow(/did not send a pty/);
    expect(openFds()).toBe(fdsBefore);
  });

  it('fails clearly when closed before taking', async () => {
    const rc = receiveConsole(join(dir, 'c.sock'));
    rc.close();
    expect(openFds()).toBe(fdsBefore);
    await expect(rc.take()).rejects.toThrow(/closed before/);
  });

  it('rejects a socket path too long for sun_path, leaving no fd open', () => {
    expect(() => receiveConsole(join(dir, 'x'.repeat(120)))).toThrow(/ENAMETOOLONG/);
    expect(openFds()).toBe(fdsBefore);
  });

  it('rejects a path whose directory does not exist, leaving no fd open', () => {
    expect(() => receiveConsole(join(dir, 'missing', 'c.sock'))).toThrow(/bind .*ENOENT/);
    expect(openFds()).toBe(fdsBefore);
  });
});
