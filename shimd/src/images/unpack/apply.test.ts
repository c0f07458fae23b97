// Layer application without root: a recording fake of the syscall layer shows the
// whiteout conversion; hostile archives are rejected before anything leaves the root.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../digest.js';
import type { Sys } from '../sys.js';
import { readTar } from '../tar/reader.js';
import { buildTar, type WriteEntry } from '../tar/writer.js';
import { applyLayer, applyTar } from './apply.js';

type E = WriteEntry & { data?: string | Buffer };

function recordingSys(): Sys & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    mknod(path, mode, major, minor) {
      calls.push(`mknod ${path} ${mode.toString(8)} ${major}:${minor}`);
      writeFileSync(path, ''); // stands in for the node
    },
    lsetxattr(path, name, value) {
      calls.push(`setxattr ${path} ${name}=${value.toString()}`);
    },
    lgetxattr: () => undefined,
    llistxattr: () => [],
    mount() {
      throw new Error('not in unit tests');
    },
    umount() {
      throw new Error('not in unit tests');
    },
  };
}

async function* chunks(b: Buffer, size = 700): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

describe('tar reader and writer', () => {
  it('round-trips long names, long link targets, xattrs and fractional mtimes', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(130)}`;
    const tar = buildTar([
      { path: long, type: 'file', data: 'x', mode: 0o4755, uid: 5, gid: 6, mtime: 1234.5, xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0, 10]) } },
      { path: 'l', type: 'symlink', linkpath: 't'.repeat(200) },
      { path: 'dev', type: 'char', devmajor: 1, devminor: 3 },
    ]);
    const got = [];
    for await (const { entry, body } of readTar(chunks(tar, 333))) {
      const parts: Buffer[] = [];
      for await (const c of body) parts.push(c);
      got.push({ ...entry, data: Buffer.concat(parts).toString() });
    }
    expect(got[0]).toMatchObject({ path: long, type: 'file', mode: 0o4755, uid: 5, gid: 6, mtime: 1234.5, data: 'x' });
    expect(got[0].xattrs['security.capability']).toEqual(Buffer.from([1, 0, 0, 2, 0, 10]));
    expect(got[1]).toMatchObject({ path: 'l', type: 'symlink', linkpath: 't'.repeat(200) });
    expect(got[2]).toMatchObject({ type: 'char', devmajor: 1, devminor: 3 });
  });

  it('rejects garbage with a clear error', async () => {
    const entries = readTar(chunks(Buffer.alloc(1024, 7)));
    await expect(entries.next()).rejects.toThrow(/checksum mismatch/);
  });
});

describe('applying layers', () => {
  let dir: string;
  let root: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'img-unit-apply-'));
    root = join(dir, 'root');
    mkdirSync(root);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const apply = (entries: E[], opts: Partial<Parameters<typeof applyTar>[2]> = {}) =>
    applyTar(root, chunks(buildTar(entries)), { whiteouts: 'overlay', chown: false, sys: recordingSys(), ...opts });

  it('turns whiteouts into overlay whiteouts and opaque xattrs', async () => {
    const sys = recordingSys();
    await applyTar(
      root,
      chunks(
        buildTar([
          { path: 'a/', type: 'dir' },
          { path: 'a/.wh.gone', type: 'file' },
          { path: 'b/.wh..wh..opq', type: 'file' },
          { path: 'b/kept', type: 'file', data: 'k' },
        ]),
      ),
      { whiteouts: 'overlay', chown: false, sys },
    );
    expect(sys.calls).toEqual([`mknod ${join(root, 'a', 'gone')} 20000 0:0`, `setxattr ${join(root, 'b')} trusted.overlay.opaque=y`]);
    expect(existsSync(join(root, 'a', '.wh.gone'))).toBe(false);
    expect(readFileSync(join(root, 'b', 'kept'), 'utf8')).toBe('k');
  });

  it('applies whiteouts by deleting for the copying snapshotter', async () => {
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b', 'sub'), { recursive: true });
    writeFileSync(join(root, 'a', 'gone'), 'old');
    writeFileSync(join(root, 'a', 'stays'), 'old');
    writeFileSync(join(root, 'b', 'old'), 'old');
    await apply(
      [
        { path: 'a/.wh.gone', type: 'file' },
        { path: 'b/new', type: 'file', data: 'n' },
        { path: 'b/.wh..wh..opq', type: 'file' },
      ],
      { whiteouts: 'delete' },
    );
    expect(readdirSync(join(root, 'a'))).toEqual(['stays']);
    expect(readdirSync(join(root, 'b'))).toEqual(['new']);
  });

  it('reports the diff ID of gzip layers', async () => {
    const tar = buildTar([{ path: 'f', type: 'file', data: 'hello' }]);
    const r = await applyLayer(root, Readable.from([gzipSync(tar)]), 'gzip', { whiteouts: 'overlay', chown: false, sys: recordingSys() });
    expect(r.diffId).toBe(sha256(tar));
    await expect(applyLayer(join(dir, 'root'), Readable.from([Buffer.from('not gzip at all')]), 'gzip', { whiteouts: 'overlay', chown: false })).rejects.toThrow(/gzip/);
  });

  describe('rejects hostile layers and writes nothing outside', () => {
    const cases: Array<[string, E[], RegExp]> = [
      ['an absolute path', [{ path: '/evil', type: 'file', data: 'x' }], /"\/evil": absolute path/],
      ['a .. path', [{ path: 'a/../../evil', type: 'file', data: 'x' }], /path contains "\.\."/],
      ['a symlink climbing out', [{ path: 'up', type: 'symlink', linkpath: '../../../etc' }], /points outside the layer/],
      [
        'a write through a symlinked parent',
        [
          { path: 'esc', type: 'symlink', linkpath: '/tmp' },
          { path: 'esc/evil', type: 'file', data: 'x' },
        ],
        /parent "esc" is a symlink/,
      ],
      ['a hard link to an absolute path', [{ path: 'h', type: 'hardlink', linkpath: '/etc/passwd' }], /hard link to absolute path/],
      ['a hard link climbing out', [{ path: 'h', type: 'hardlink', linkpath: '../outside' }], /path contains "\.\."/],
      ['a hard link to a missing file', [{ path: 'h', type: 'hardlink', linkpath: 'nothere' }], /not in the layer/],
      ['a device node', [{ path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 }], /device nodes are not allowed/],
      ['a whiteout through a symlink', [{ path: 'esc', type: 'symlink', linkpath: '/' }, { path: 'esc/.wh.etc', type: 'file' }], /parent "esc" is a symlink/],
    ];
    for (const [name, entries, why] of cases) {
      it(name, async () => {
        writeFileSync(join(dir, 'outside'), 'keep');
        await expect(apply(entries)).rejects.toThrow(why);
        await expect(apply(entries)).rejects.toThrow(/^unsafe layer: entry/);
        expect(readdirSync(dir).sort()).toEqual(['outside', 'root']);
        expect(readFileSync(join(dir, 'outside'), 'utf8')).toBe('keep');
        expect(existsSync('/evil')).toBe(false);
      });
    }

    it('does not follow a symlink that a later entry replaces with a file', async () => {
      symlinkSync(join(dir, 'outside'), join(root, 'f'));
      writeFileSync(join(dir, 'outside'), 'keep');
      await apply([{ path: 'f', type: 'file', data: 'new' }]);
      expect(readFileSync(join(dir, 'outside'), 'utf8')).toBe('keep');
      expect(lstatSync(join(root, 'f')).isFile()).toBe(true);
    });

    it('allows absolute symlinks (they resolve inside the container)', async () => {
      await apply([{ path: 'sh', type: 'symlink', linkpath: '/bin/busybox' }]);
      expect(lstatSync(join(root, 'sh')).isSymbolicLink()).toBe(true);
    });
  });
});
