// -v / --mount / the image's VOLUMEs → berthd's MountPoints (inspect's Mounts) and
// the OCI spec's extra mounts. A named volume that is new and empty gets the
// image's content at its destination, as Docker fills it on first mount.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { invalid } from '../errors.js';
import type { VolumeService } from '../volumes/service.js';
import type { HostConfig, MountPoint } from './model.js';
import type { ExtraMount } from './spec.js';

export interface PlannedMounts {
  points: MountPoint[];
  spec: ExtraMount[];
}

interface Wanted {
  type: 'bind' | 'volume' | 'tmpfs';
  source: string;
  target: string;
  readonly: boolean;
  fromBinds: boolean;
  propagation?: string;
  tmpfs?: { size?: number; mode?: number };
  noCopy?: boolean;
  labels?: Record<string, string>;
}

function parseBind(spec: string): Wanted {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalid(`invalid volume specification: '${spec}'`);
  const [source, target, mode = ''] = parts as [string, string, string?];
  if (!isAbsolute(target)) throw invalid(`invalid volume specification: '${spec}': invalid mount config for type "${isAbsolute(source) ? 'bind' : 'volume'}": invalid mount path: '${target}' mount path must be absolute`);
  const modes = mode ? mode.split(',') : [];
  for (const m of modes) {
    if (!['ro', 'rw', 'z', 'Z', 'nocopy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(m)) {
      throw invalid(`invalid mode: ${m}`);
    }
  }
  return {
    type: isAbsolute(source) ? 'bind' : 'volume',
    source,
    target: normalize(target),
    readonly: modes.includes('ro'),
    fromBinds: true,
    propagation: modes.find((m) => m.includes('private') || m.includes('shared') || m.includes('slave')),
    noCopy: modes.includes('nocopy'),
  };
}

export function wantedMounts(hc: HostConfig, imageVolumes: string[]): Wanted[] {
  const out: Wanted[] = [];
  for (const b of hc.Binds ?? []) out.push(parseBind(b));
  for (const m of hc.Mounts ?? []) {
    if (!m.Target || !isAbsolute(m.Target)) throw invalid(`invalid mount config for type "${m.Type}": invalid mount path: '${m.Target ?? ''}' mount path must be absolute`);
    if (m.Type === 'bind') {
      if (!m.Source) throw invalid('invalid mount config for type "bind": field Source must not be empty');
      if (!existsSync(m.Source)) throw invalid(`invalid mount config for type "bind": bind source path does not exist: ${m.Source}`);
    } else if (m.Type === 'tmpfs') {
      if (m.Source) throw invalid('invalid mount config for type "tmpfs": field Source must not be specified');
    } else if (m.Type !== 'volume') {
      throw invalid(`mount type unknown: ${m.Type}`);
    }
    out.push({
      type: m.Type,
      source: m.Source ?? '',
      target: normalize(m.Target),
      readonly: !!m.ReadOnly,
      fromBinds: false,
      propagation: m.BindOptions?.Propagation,
      tmpfs: m.TmpfsOptions ? { size: m.TmpfsOptions.SizeBytes, mode: m.TmpfsOptions.Mode } : undefined,
      noCopy: m.VolumeOptions?.NoCopy,
      labels: m.VolumeOptions?.Labels,
    });
  }
  const seen = new Set<string>();
  for (const w of out) {
    if (seen.has(w.target)) throw invalid(`Duplicate mount point: ${w.target}`);
    seen.add(w.target);
  }
  for (const v of imageVolumes) {
    const t = normalize(v);
    if (!seen.has(t)) out.push({ type: 'volume', source: '', target: t, readonly: false, fromBinds: false });
  }
  return out;
}

/** The image's content at `path`, found in the snapshot's overlay lower dirs (top first). */
function imagePath(rootfs: { type: string; source: string; options: string[] }[], path: string): string | undefined {
  for (const m of rootfs) {
    const lower = m.options.find((o) => o.startsWith('lowerdir='));
    const dirs = lower ? lower.slice('lowerdir='.length).split(':') : m.type === 'bind' ? [m.source] : [];
    for (const d of dirs) {
      const p = join(d, path);
      if (existsSync(p)) return statSync(p).isDirectory() ? p : undefined;
    }
  }
  return undefined;
}

export function planMounts(
  wanted: Wanted[],
  volumes: VolumeService,
  rootfs: { type: string; source: string; options: string[] }[],
): PlannedMounts {
  const points: MountPoint[] = [];
  const spec: ExtraMount[] = [];
  for (const w of wanted) {
    if (w.type === 'tmpfs') {
      const opts = ['nosuid', 'nodev', 'noexec'];
      if (w.tmpfs?.size) opts.push(`size=${w.tmpfs.size}`);
      if (w.tmpfs?.mode) opts.push(`mode=${w.tmpfs.mode.toString(8)}`);
      if (w.readonly) opts.push('ro');
      spec.push({ destination: w.target, type: 'tmpfs', source: 'tmpfs', options: opts });
      points.push({ Type: 'tmpfs', Source: '', Destination: w.target, Mode: '', RW: !w.readonly, Propagation: '' });
      continue;
    }
    let source = w.source;
    let name: string | undefined;
    if (w.type === 'volume') {
      const anonymous = !w.source;
      const v = volumes.create({ Name: w.source || undefined, Labels: w.labels }, anonymous);
      name = v.Name;
      source = volumes.mount(v.Name);
      if (!w.noCopy) volumes.populate(v.Name, imagePath(rootfs, w.target));
    } else if (!existsSync(source)) {
      // -v with a missing host path creates it, as dockerd does.
      mkdirSync(source, { recursive: true });
    }
    const propagation = w.propagation || 'rprivate';
    spec.push({ destination: w.target, type: 'bind', source, options: ['rbind', w.readonly ? 'ro' : 'rw', propagation] });
    points.push({
      Type: w.type,
      ...(name ? { Name: name, Driver: 'local' } : {}),
      Source: source,
      Destination: w.target,
      Mode: w.fromBinds ? (w.readonly ? 'ro' : '') : '',
      RW: !w.readonly,
      Propagation: w.type === 'bind' ? propagation : '',
    });
  }
  return { points, spec };
}
