// Named volumes of the local driver: a directory per volume under the data root
// (<root>/<name>/_data) with its metadata beside it; or, with the local driver's
// type/device/o options, a filesystem mounted there while a container uses it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalid, notFound } from '../errors.js';

export interface Volume {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
  /** Set for volumes created for an image's VOLUME or an unnamed -v. */
  Anonymous?: boolean;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export class VolumeService {
  /** Container IDs using each volume. */
  users: (name: string) => string[] = () => [];

  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private meta(name: string): string {
    return join(this.root, name, 'volume.json');
  }

  list(): Volume[] {
    const out: Volume[] = [];
    for (const name of readdirSync(this.root)) {
      try {
        out.push(JSON.parse(readFileSync(this.meta(name), 'utf8')));
      } catch {}
    }
    return out;
  }

  find(name: string): Volume | undefined {
    try {
      return JSON.parse(readFileSync(this.meta(name), 'utf8'));
    } catch {
      return undefined;
    }
  }

  get(name: string): Volume {
    const v = this.find(name);
    if (!v) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  create(req: { Name?: string; Driver?: string; DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null }, anonymous = false): Volume {
    const driver = req.Driver || 'local';
    if (driver !== 'local') throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const name = req.Name || randomBytes(32).toString('hex');
    if (!NAME.test(name)) {
      throw invalid(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    const existing = this.find(name);
    if (existing) return existing;
    const opts = req.DriverOpts ?? {};
    validateOptions(opts);
    const dir = join(this.root, name);
    mkdirSync(join(dir, '_data'), { recursive: true, mode: 0o755 });
    const v: Volume = {
      Name: name,
      Driver: 'local',
      Mountpoint: join(dir, '_data'),
      CreatedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      Labels: req.Labels ?? {},
      Options: opts,
      Scope: 'local',
      ...(anonymous ? { Anonymous: true } : {}),
    };
    writeFileSync(this.meta(name), JSON.stringify(v));
    return v;
  }

  /** Mounts a volume with type/device options on first use; returns its host path. */
  mount(name: string): string {
    const v = this.get(name);
    if (v.Options.type || v.Options.device) {
      const mounted = readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === v.Mountpoint);
      if (!mounted) {
        const args = ['-t', v.Options.type || 'none'];
        if (v.Options.o) args.push('-o', v.Options.o);
        args.push(v.Options.device || v.Options.type || 'none', v.Mountpoint);
        try {
          execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'] });
        } catch (e) {
          throw invalid(`error while mounting volume '${v.Mountpoint}': ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`);
        }
      }
    }
    return v.Mountpoint;
  }

  unmountIfUnused(name: string): void {
    const v = this.find(name);
    if (!v || !(v.Options.type || v.Options.device) || this.users(name).length) return;
    try {
      execFileSync('umount', [v.Mountpoint], { stdio: 'ignore' });
    } catch {}
  }

  /** True when the volume has never held anything (so the image's content may be copied in). */
  isEmpty(name: string): boolean {
    const v = this.get(name);
    return readdirSync(v.Mountpoint).length === 0 && !existsSync(join(this.root, name, '.populated'));
  }

  markPopulated(name: string): void {
    writeFileSync(join(this.root, name, '.populated'), '');
  }

  /**
   * Fills a volume that has never held anything from the image's directory at its
   * mount path, as Docker does on first mount: the content with owners, modes and
   * times kept, and the volume's own root takes the directory's owner and mode.
   */
  populate(name: string, from: string | undefined): void {
    if (!this.isEmpty(name)) return;
    const target = this.mount(name);
    if (from) {
      if (readdirSync(from).length) execFileSync('cp', ['-a', '--', `${from}/.`, target], { stdio: ['ignore', 'ignore', 'pipe'] });
      const st = statSync(from);
      chownSync(target, st.uid, st.gid);
      chmodSync(target, st.mode & 0o7777);
    }
    this.markPopulated(name);
  }

  remove(name: string, force = false): void {
    const v = this.find(name);
    if (!v) {
      if (force) return;
      throw notFound(`get ${name}: no such volume`);
    }
    const users = this.users(name);
    if (users.length) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
    this.unmountIfUnused(name);
    rmSync(join(this.root, name), { recursive: true, force: true });
  }

  /**
   * Removes unused volumes: only anonymous ones unless `all` (API 1.42+), and only
   * those matching every `label` filter (`k`, `k=v`) and no `label!` filter.
   */
  prune(all: boolean, labels: string[] = [], notLabels: string[] = []): { VolumesDeleted: string[]; SpaceReclaimed: number } {
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.list()) {
      if (this.users(v.Name).length) continue;
      if (!all && !v.Anonymous) continue;
      if (!labels.every((l) => hasLabel(v, l)) || notLabels.some((l) => hasLabel(v, l))) continue;
      space += du(v.Mountpoint);
      this.remove(v.Name);
      deleted.push(v.Name);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }

  size(name: string): number {
    return du(this.get(name).Mountpoint);
  }
}

/** `k` or `k=v` against a volume's labels, as Docker's label filters match. */
export function hasLabel(v: Volume, filter: string): boolean {
  const i = filter.indexOf('=');
  const labels = v.Labels ?? {};
  return i < 0 ? filter in labels : labels[filter.slice(0, i)] === filter.slice(i + 1);
}

/** The local driver's options, checked as dockerd's local driver checks them. */
function validateOptions(opts: Record<string, string>): void {
  for (const k of Object.keys(opts)) {
    if (!['type', 'device', 'o', 'size'].includes(k)) throw invalid(`invalid option: "${k}"`);
  }
  if (opts.size) throw invalid('quota size requested but no quota support');
  if (opts.device && !opts.type) throw invalid('missing required option: "type"');
  if (opts.type && !opts.device) throw invalid('missing required option: "device"');
  if (opts.o && !opts.type) throw invalid('missing required option: "type"');
}

function du(path: string): number {
  let n = 0;
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p, { throwIfNoEntry: false }) as ReturnType<typeof statSync>;
    } catch {
      return;
    }
    if (!st) return;
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else n += Number(st.size);
  };
  walk(path);
  return n;
}
