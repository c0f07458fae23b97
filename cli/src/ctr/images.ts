// `berth ctr images …`: images in berth-shimd's image store, over the Images service
// of proto/images.proto. Output follows containerd's ctr.
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { grpcTarget, loadProto, namespaceMetadata } from '@berth/proto';
import { parseFlags, table, UsageError } from './args.js';
import { describeError } from './client.js';

export interface Globals {
  address: string;
  namespace: string;
}

type Msg = any;
export type Rpc = grpc.Client & Record<string, (...args: any[]) => any>;

export interface ImageClients {
  images: Rpc;
  content: Rpc;
  snapshots: Rpc;
  metadata: grpc.Metadata;
  unary<T = Msg>(client: Rpc, method: string, req: object): Promise<T>;
  stream(client: Rpc, method: string, req: object, onMessage: (m: Msg) => void): Promise<void>;
  close(): void;
}

/**
 * The shared frame of `ctr images|content|snapshots`: usage, one connection for the
 * verb, usage errors (exit 2) and daemon errors (exit 1) reported like ctr's.
 */
export async function runImageCommand(
  group: string,
  usage: string,
  argv: string[],
  g: Globals,
  run: (c: ImageClients, cmd: string, argv: string[]) => Promise<number>,
): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage);
    return cmd ? 0 : 1;
  }
  let c: ImageClients | undefined;
  try {
    c = connectImages(g);
    return await run(c, cmd, rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`berth ctr ${group}: ${e.message}\n${usage}`);
      return 2;
    }
    process.stderr.write(`ctr: ${describeError(e)}\n`);
    return 1;
  } finally {
    c?.close();
  }
}

export function connectImages(g: Globals): ImageClients {
  const v1 = (loadProto('images') as any).berth.images.v1;
  const target = grpcTarget(g.address);
  const creds = grpc.credentials.createInsecure();
  const metadata = namespaceMetadata(g.namespace);
  const images = new v1.Images(target, creds);
  const content = new v1.Content(target, creds);
  const snapshots = new v1.Snapshots(target, creds);
  return {
    images,
    content,
    snapshots,
    metadata,
    unary: (client, method, req) =>
      new Promise((resolve, reject) => client[method](req, metadata, (err: grpc.ServiceError | null, res: Msg) => (err ? reject(err) : resolve(res)))),
    stream: (client, method, req, onMessage) =>
      new Promise((resolve, reject) => {
        const call = client[method](req, metadata) as grpc.ClientReadableStream<Msg>;
        call.on('data', onMessage);
        call.on('error', reject);
        call.on('end', () => resolve());
      }),
    close: () => {
      images.close();
      content.close();
      snapshots.close();
    },
  };
}

export function humanSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

function auth(user: string | boolean | undefined): Msg {
  if (typeof user !== 'string' || !user) return null;
  const i = user.indexOf(':');
  return i < 0 ? { username: user, password: process.env.BERTH_REGISTRY_PASSWORD ?? '' } : { username: user.slice(0, i), password: user.slice(i + 1) };
}

const USAGE = `usage: berth ctr images COMMAND
  ls [-q] [FILTER...]                     list images (filters: name==N, name~=RE, labels."k"==v)
  pull [--platform P] [--user U:P] [--no-unpack] REF
  push [--platform P] [--user U:P] NAME [REMOTE]
  import [--name N] [--platform P] [--no-unpack] ARCHIVE
  export [--format oci|docker] [--platform P] ARCHIVE NAME...
  rm [--sync] NAME...
  tag SOURCE TARGET
  unpack [--platform P] NAME
  spec [--user U] [--tty] IMAGE ID [ARG...]  print a runtime spec for a container of IMAGE
  usage NAME
  gc                                      remove unused content and snapshots
`;

/** Prints pull/push progress: one line per change of a layer's status. */
function progressPrinter(): (p: Msg) => void {
  const last = new Map<string, string>();
  return (p) => {
    if (!p) return;
    if (last.get(p.id) === p.status && p.status === 'Downloading') return;
    last.set(p.id, p.status);
    const amount = Number(p.total) > 0 && p.status !== 'Already exists' ? ` ${humanSize(Number(p.current))}/${humanSize(Number(p.total))}` : '';
    process.stdout.write(`${p.id}: ${p.status}${amount}\n`);
  };
}

export function main(argv: string[], g: Globals): Promise<number> {
  return runImageCommand('images', USAGE, argv, g, run);
}

async function run(c: ImageClients, cmd: string, argv: string[]): Promise<number> {
  const need = (args: string[], n: number, what: string) => {
    if (args.length < n) throw new UsageError(`${cmd}: ${what} required`);
  };
  switch (cmd) {
    case 'ls':
    case 'list': {
      const p = parseFlags(argv, { bools: ['q', 'quiet'] });
      const res = await c.unary(c.images, 'List', { filters: p.args });
      if (p.flags.q || p.flags.quiet) {
        for (const i of res.images) process.stdout.write(`${i.name}\n`);
        return 0;
      }
      const rows: string[][] = [];
      for (const i of res.images) {
        const u = await c.unary(c.images, 'Usage', { name: i.name }).catch(() => ({ content_size: i.target.size }));
        const labels = Object.entries(i.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '-';
        rows.push([i.name, i.target.media_type, i.target.digest, humanSize(Number(u.content_size)), labels]);
      }
      process.stdout.write(table(['REF', 'TYPE', 'DIGEST', 'SIZE', 'LABELS'], rows));
      return 0;
    }
    case 'pull': {
      const p = parseFlags(argv, { values: ['platform', 'user'], bools: ['no-unpack'], aliases: { u: 'user' } });
      need(p.args, 1, 'a reference');
      const print = progressPrinter();
      let image: Msg;
      await c.stream(c.images, 'Pull', { ref: p.args[0], platform: p.flags.platform ?? '', auth: auth(p.flags.user), no_unpack: !!p.flags['no-unpack'] }, (m) => {
        if (m.progress) print(m.progress);
        if (m.image) image = m.image;
      });
      process.stdout.write(`${image?.name}: ${image?.target?.digest}\n`);
      return 0;
    }
    case 'push': {
      const p = parseFlags(argv, { values: ['platform', 'user'], aliases: { u: 'user' } });
      need(p.args, 1, 'an image name');
      const print = progressPrinter();
      let pushed: Msg;
      await c.stream(c.images, 'Push', { name: p.args[0], remote: p.args[1] ?? '', platform: p.flags.platform ?? '', auth: auth(p.flags.user) }, (m) => {
        if (m.progress) print(m.progress);
        if (m.pushed) pushed = m.pushed;
      });
      process.stdout.write(`pushed ${pushed?.digest}\n`);
      return 0;
    }
    case 'import': {
      const p = parseFlags(argv, { values: ['name', 'platform', 'base-name'], bools: ['no-unpack'] });
      need(p.args, 1, 'an archive path');
      const res = await c.unary(c.images, 'Import', {
        path: resolve(p.args[0]),
        name: (p.flags.name ?? p.flags['base-name'] ?? '') as string,
        platform: p.flags.platform ?? '',
        no_unpack: !!p.flags['no-unpack'],
      });
      for (const i of res.images) process.stdout.write(`${i.name}: ${i.target.digest}\n`);
      return 0;
    }
    case 'export': {
      const p = parseFlags(argv, { values: ['format', 'platform'] });
      need(p.args, 2, 'an archive path and an image name');
      await c.unary(c.images, 'Export', { path: resolve(p.args[0]), names: p.args.slice(1), format: p.flags.format ?? 'oci', platform: p.flags.platform ?? '' });
      return 0;
    }
    case 'rm':
    case 'remove':
    case 'delete': {
      const p = parseFlags(argv, { bools: ['sync'] });
      need(p.args, 1, 'an image name');
      let rc = 0;
      for (const n of p.args) {
        try {
          await c.unary(c.images, 'Delete', { name: n, sync: !!p.flags.sync });
          process.stdout.write(`${n}\n`);
        } catch (e) {
          process.stderr.write(`ctr: ${n}: ${describeError(e)}\n`);
          rc = 1;
        }
      }
      return rc;
    }
    case 'tag': {
      need(argv, 2, 'a source and a target');
      const res = await c.unary(c.images, 'Tag', { source: argv[0], target: argv[1] });
      process.stdout.write(`${res.image.name}\n`);
      return 0;
    }
    case 'unpack': {
      const p = parseFlags(argv, { values: ['platform'] });
      need(p.args, 1, 'an image name');
      const res = await c.unary(c.images, 'Unpack', { name: p.args[0], platform: p.flags.platform ?? '' });
      process.stdout.write(`${res.chain_id}\n`);
      return 0;
    }
    case 'spec': {
      const p = parseFlags(argv, { values: ['user', 'cwd', 'platform'], bools: ['tty', 't'], multi: ['env'] }, 2);
      need(p.args, 2, 'an image and a container id');
      const overrides: Msg = {};
      if (p.args.length > 2) overrides.args = p.args.slice(2);
      if (p.flags.user) overrides.user = p.flags.user;
      if (p.flags.cwd) overrides.cwd = p.flags.cwd;
      if (p.flags.tty || p.flags.t) overrides.terminal = true;
      if (p.multi.env) overrides.env = p.multi.env;
      const res = await c.unary(c.images, 'GenerateSpec', { image: p.args[0], container_id: p.args[1], overrides_json: JSON.stringify(overrides), platform: p.flags.platform ?? '' });
      process.stdout.write(`${JSON.stringify(JSON.parse(res.spec_json), null, 2)}\n`);
      return 0;
    }
    case 'usage': {
      need(argv, 1, 'an image name');
      const u = await c.unary(c.images, 'Usage', { name: argv[0] });
      process.stdout.write(table(['CONTENT', 'SNAPSHOTS'], [[humanSize(Number(u.content_size)), humanSize(Number(u.snapshot_size))]]));
      return 0;
    }
    case 'gc': {
      const r = await c.unary(c.images, 'GC', {});
      for (const b of r.removed_blobs) process.stdout.write(`removed content ${b}\n`);
      for (const s of r.removed_snapshots) process.stdout.write(`removed snapshot ${s}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}
