// `berth ctr snapshots …`: berth-shimd's snapshotter (Snapshots service).
import { parseFlags, table, UsageError } from './args.js';
import { describeError } from './client.js';
import { type Globals, humanSize, type ImageClients, runImageCommand } from './images.js';

const USAGE = `usage: berth ctr snapshots COMMAND
  ls                           list snapshots (KEY PARENT KIND)
  prepare [--mounts] KEY [PARENT]  a writable snapshot
  view [--mounts] KEY [PARENT]     a read-only snapshot
  mounts TARGET KEY            print the mount command for a snapshot
  commit NAME KEY              commit an active snapshot
  rm KEY...                    remove snapshots
  usage [KEY...]               disk usage (SIZE INODES)
  info KEY                     the snapshot's record as JSON
`;

type Msg = any;

export function mountCommand(mounts: Msg[], target: string): string {
  return mounts
    .map((m) => {
      const opts = (m.options ?? []).filter((o: string) => o !== 'rbind' || m.type !== 'bind');
      const type = m.type === 'bind' ? '--bind' : `-t ${m.type}`;
      return `mount ${type} ${m.source} ${target}${opts.length ? ` -o ${opts.join(',')}` : ''}`;
    })
    .join('\n');
}

export function main(argv: string[], g: Globals): Promise<number> {
  return runImageCommand('snapshots', USAGE, argv, g, run);
}

async function run(c: ImageClients, cmd: string, argv: string[]): Promise<number> {
  switch (cmd) {
    case 'ls':
    case 'list': {
      const res = await c.unary(c.snapshots, 'List', {});
      process.stdout.write(table(['KEY', 'PARENT', 'KIND'], res.infos.map((s: Msg) => [s.name, s.parent, s.kind])));
      return 0;
    }
    case 'prepare':
    case 'view': {
      const p = parseFlags(argv, { bools: ['mounts'] });
      if (!p.args[0]) throw new UsageError(`${cmd}: a key is required`);
      const res = await c.unary(c.snapshots, cmd === 'prepare' ? 'Prepare' : 'View', { key: p.args[0], parent: p.args[1] ?? '' });
      if (p.flags.mounts) process.stdout.write(`${mountCommand(res.mounts, '/tmp/mnt')}\n`);
      return 0;
    }
    case 'mounts':
    case 'm': {
      if (argv.length < 2) throw new UsageError('mounts: a target and a key are required');
      const res = await c.unary(c.snapshots, 'Mounts', { key: argv[1] });
      process.stdout.write(`${mountCommand(res.mounts, argv[0])}\n`);
      return 0;
    }
    case 'commit': {
      if (argv.length < 2) throw new UsageError('commit: a name and a key are required');
      await c.unary(c.snapshots, 'Commit', { name: argv[0], key: argv[1] });
      return 0;
    }
    case 'rm':
    case 'remove':
    case 'delete': {
      if (!argv.length) throw new UsageError('rm: a key is required');
      let rc = 0;
      for (const k of argv) {
        try {
          await c.unary(c.snapshots, 'Remove', { key: k });
        } catch (e) {
          process.stderr.write(`ctr: ${k}: ${describeError(e)}\n`);
          rc = 1;
        }
      }
      return rc;
    }
    case 'usage': {
      const keys = argv.length ? argv : (await c.unary(c.snapshots, 'List', {})).infos.map((s: Msg) => s.name);
      const rows: string[][] = [];
      for (const k of keys) {
        const u = await c.unary(c.snapshots, 'Usage', { key: k });
        rows.push([k, humanSize(Number(u.size)), String(u.inodes)]);
      }
      process.stdout.write(table(['KEY', 'SIZE', 'INODES'], rows));
      return 0;
    }
    case 'info': {
      if (!argv[0]) throw new UsageError('info: a key is required');
      const res = await c.unary(c.snapshots, 'Stat', { key: argv[0] });
      process.stdout.write(`${JSON.stringify(res.info, null, 2)}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}
