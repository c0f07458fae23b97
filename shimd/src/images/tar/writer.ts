// A tar writer (ustar headers, pax records for long names and xattrs), used for
// export and by tests that need exact, even hostile, archives.
import type { EntryType } from './reader.js';

export interface WriteEntry {
  path: string;
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  xattrs?: Record<string, Buffer | string>;
}

const FLAGS: Record<EntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

function octal(buf: Buffer, off: number, len: number, v: number): void {
  buf.write(`${Math.floor(v).toString(8).padStart(len - 1, '0')}\0`, off, len, 'ascii');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len++;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function rawHeader(e: WriteEntry, name: string, link: string, flag: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, e.mode ?? (e.type === 'dir' ? 0o755 : 0o644));
  octal(h, 108, 8, Math.min(e.uid ?? 0, 0o7777777));
  octal(h, 116, 8, Math.min(e.gid ?? 0, 0o7777777));
  octal(h, 124, 12, size);
  octal(h, 136, 12, e.mtime ?? 0);
  h.write('        ', 148, 8, 'ascii');
  h.write(flag, 156, 1, 'ascii');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write(e.uname ?? '', 265, 32, 'utf8');
  h.write(e.gname ?? '', 297, 32, 'utf8');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

export function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** The header block(s) for one entry; the caller writes `size` bytes of data and padding(size). */
export function tarHeader(e: WriteEntry): Buffer {
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const records: Buffer[] = [];
  const fits = (s: string) => Buffer.byteLength(s) < 100;
  if (!fits(e.path)) records.push(paxRecord('path', Buffer.from(e.path)));
  if (e.linkpath && !fits(e.linkpath)) records.push(paxRecord('linkpath', Buffer.from(e.linkpath)));
  if (size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(size))));
  if ((e.uid ?? 0) > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(e.uid))));
  if ((e.gid ?? 0) > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(e.gid))));
  if (e.mtime !== undefined && !Number.isInteger(e.mtime)) records.push(paxRecord('mtime', Buffer.from(e.mtime.toFixed(9))));
  for (const [k, v] of Object.entries(e.xattrs ?? {})) {
    records.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.isBuffer(v) ? v : Buffer.from(v)));
  }
  const main = rawHeader(e, Buffer.from(e.path).subarray(0, 99).toString(), (e.linkpath ?? '').slice(0, 99), FLAGS[e.type], Math.min(size, 0o77777777777));
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxName = `PaxHeaders/${e.path.split('/').filter(Boolean).pop() ?? 'x'}`.slice(0, 99);
  return Buffer.concat([rawHeader({ path: paxName, type: 'file' }, paxName, '', 'x', pax.length), pax, padding(pax.length), main]);
}

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

/** Builds a whole archive in memory (small archives: tests, manifests). */
export function buildTar(entries: Array<WriteEntry & { data?: Buffer | string }>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const size = e.type === 'file' ? data.length : 0;
    parts.push(tarHeader({ ...e, size }));
    if (size) parts.push(data, padding(size));
  }
  parts.push(TAR_END);
  return Buffer.concat(parts);
}
