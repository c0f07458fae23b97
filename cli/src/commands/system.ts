// version, info, events, inspect, and the `system` group (info, df, prune, events).
import type { CommandModule } from 'yargs';
import { type Cli, CliError, inspectEach, toArray } from '../cli.js';
import { CLIENT_API_VERSION, DaemonError } from '../client/engine.js';
import { readJsonStream } from '../client/jsonstream.js';
import { type ListFormat, type Row, renderInspect, renderList } from '../format/output.js';
import { containerFormat, containerRow, imageFormat, imageRows, volumeFormat, volumeRow } from '../format/contexts.js';
import { alignTabs } from '../format/table.js';
import { unescapeFormat } from '../format/output.js';
import { goJson, Template } from '../format/template.js';
import { ago, apiTimestamp, humanSize } from '../format/units.js';
import { command, confirm, filtersJson } from './common.js';

const enc = encodeURIComponent;
const VERSION = process.env.BERTH_VERSION ?? '0.0.0-dev';
const COMMIT = process.env.BERTH_COMMIT ?? 'unknown';

function clientVersion(cli: Cli, apiVersion: string) {
  return {
    Platform: { Name: 'berth' },
    Version: VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: COMMIT,
    GoVersion: `node ${process.version}`,
    Os: process.platform,
    Arch: process.arch === 'x64' ? 'amd64' : process.arch,
    BuildTime: '',
    Context: 'default',
    Host: cli.host,
  };
}

async function version(cli: Cli, a: Record<string, any>): Promise<number> {
  let server: any;
  let serverError: unknown;
  let api = CLIENT_API_VERSION;
  try {
    api = await cli.client.apiVersion();
    server = await cli.client.get('/version');
  } catch (e) {
    serverError = e;
  }
  const data = { Client: clientVersion(cli, api), Server: server ?? null };
  if (a.format) {
    const f = a.format === 'json' ? '{{json .}}' : a.format;
    cli.print(new Template(unescapeFormat(f)).execute(data));
  } else {
    const c = data.Client;
    const lines = [
      'Client:',
      ` Version:\t${c.Version}`,
      ` API version:\t${c.ApiVersion}${c.ApiVersion !== CLIENT_API_VERSION ? ` (downgraded from ${CLIENT_API_VERSION})` : ''}`,
      ` Node version:\t${process.version}`,
      ` Git commit:\t${c.GitCommit}`,
      ` OS/Arch:\t${c.Os}/${c.Arch}`,
      ` Context:\t${c.Context}`,
    ];
    const out = [alignTabs(lines.join('\n'), { minWidth: 0, padding: 1 })];
    if (server) {
      // The Engine component is shown from the top-level fields, as docker does.
      const s = [
        `Server: ${server.Platform?.Name ?? ''}`.trimEnd(),
        ' Engine:',
        `  Version:\t${server.Version}`,
        `  API version:\t${server.ApiVersion} (minimum version ${server.MinAPIVersion})`,
        `  Git commit:\t${server.GitCommit}`,
        `  Built:\t${server.BuildTime ?? ''}`,
        `  OS/Arch:\t${server.Os}/${server.Arch}`,
        ...((server.Components ?? []) as any[])
          .filter((comp) => comp.Name !== 'Engine')
          .flatMap((comp) => [` ${comp.Name}:`, `  Version:\t${comp.Version}`, `  GitCommit:\t${comp.Details?.GitCommit ?? ''}`]),
      ];
      out.push('', alignTabs(s.join('\n'), { minWidth: 0, padding: 1 }));
    }
    cli.print(out.join('\n'));
  }
  if (serverError) return cli.report(serverError);
  return 0;
}

async function info(cli: Cli, a: Record<string, any>): Promise<void> {
  const i = await cli.client.get('/info');
  if (a.format) {
    cli.print(new Template(unescapeFormat(a.format === 'json' ? '{{json .}}' : a.format)).execute(i));
    return;
  }
  const lines = [
    'Client:',
    ` Version:    ${VERSION}`,
    ` Context:    default`,
    '',
    'Server:',
    ` Containers: ${i.Containers ?? 0}`,
    `  Running: ${i.ContainersRunning ?? 0}`,
    `  Paused: ${i.ContainersPaused ?? 0}`,
    `  Stopped: ${i.ContainersStopped ?? 0}`,
    ` Images: ${i.Images ?? 0}`,
    ` Server Version: ${i.ServerVersion ?? ''}`,
    ` Storage Driver: ${i.Driver ?? ''}`,
    ...((i.DriverStatus ?? []) as string[][]).map(([k, v]) => `  ${k}: ${v}`),
    ` Logging Driver: ${i.LoggingDriver ?? ''}`,
    ` Cgroup Driver: ${i.CgroupDriver ?? ''}`,
    ` Cgroup Version: ${i.CgroupVersion ?? ''}`,
    ' Runtimes:' + (i.Runtimes ? ` ${Object.keys(i.Runtimes).sort().join(' ')}` : ''),
    ` Default Runtime: ${i.DefaultRuntime ?? ''}`,
    ` Security Options:${(i.SecurityOptions ?? []).length ? '' : ''}`,
    ...((i.SecurityOptions ?? []) as string[]).map((s) => `  ${s.replace(/^name=/, '')}`),
    ` Kernel Version: ${i.KernelVersion ?? ''}`,
    ` Operating System: ${i.OperatingSystem ?? ''}`,
    ` OSType: ${i.OSType ?? ''}`,
    ` Architecture: ${i.Architecture ?? ''}`,
    ` CPUs: ${i.NCPU ?? ''}`,
    ` Total Memory: ${i.MemTotal ? humanSize(i.MemTotal) : ''}`,
    ` Name: ${i.Name ?? ''}`,
    ` ID: ${i.ID ?? ''}`,
    ` Docker Root Dir: ${i.DockerRootDir ?? ''}`,
    ` Debug Mode: ${Boolean(i.Debug)}`,
  ];
  cli.print(lines.join('\n'));
  for (const w of i.Warnings ?? []) cli.err.write(`${w}\n`);
}

/** One event as docker prints it: time, type, action, actor id, (sorted attributes). */
export function formatEvent(e: any): string {
  const nanos = e.timeNano ? BigInt(e.timeNano) : BigInt(e.time ?? 0) * 1_000_000_000n;
  const ms = Number(nanos / 1_000_000n);
  const frac = String(nanos % 1_000_000_000n).padStart(9, '0');
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  const time = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${frac}${zone}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  const attrText = keys.length ? ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})` : '';
  return `${time} ${e.Type} ${e.Action} ${e.Actor?.ID ?? e.id ?? ''}${attrText}`;
}

/**
 * An event as docker's events.Message: Go field names for templates ({{.Status}},
 * {{.ID}}, {{.TimeNano}}), and for {{json .}} the wire names in the struct's order with
 * the attributes map sorted, as Go encodes a map.
 */
export function eventContext(e: any): Record<string, unknown> {
  const attrs: Record<string, string> = e.Actor?.Attributes ?? {};
  const actor = { ID: e.Actor?.ID ?? '', Attributes: Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrs[k]])) };
  const wire: Record<string, unknown> = {};
  if (e.status !== undefined) wire.status = e.status;
  if (e.id !== undefined) wire.id = e.id;
  if (e.from !== undefined) wire.from = e.from;
  Object.assign(wire, { Type: e.Type ?? '', Action: e.Action ?? '', Actor: actor, scope: e.scope ?? '', time: Number(e.time ?? 0), timeNano: String(e.timeNano ?? 0) });
  const ctx: Record<string, unknown> = { Status: e.status ?? '', ID: e.id ?? '', From: e.from ?? '', Type: e.Type ?? '', Action: e.Action ?? '', Actor: actor, Scope: e.scope ?? '', Time: Number(e.time ?? 0), TimeNano: String(e.timeNano ?? 0) };
  Object.defineProperty(ctx, 'toJSON', { value: () => wire, enumerable: false });
  return ctx;
}

/** timeNano travels as a string (see eventContext); JSON shows it as the number it is. */
const unquoteTimeNano = (json: string) => json.replace(/"timeNano":"(-?\d+)"/g, '"timeNano":$1');

async function events(cli: Cli, a: Record<string, any>): Promise<void> {
  const res = await cli.client.stream('GET', '/events', { query: { since: apiTimestamp(a.since), until: apiTimestamp(a.until), filters: filtersJson(a.filter) } });
  const tpl = a.format && a.format !== 'json' ? new Template(unescapeFormat(a.format)) : undefined;
  await readJsonStream<any>(
    res,
    (e) => {
      if (a.format === 'json') cli.print(unquoteTimeNano(goJson(eventContext(e))));
      else if (tpl) cli.print(unquoteTimeNano(tpl.execute(eventContext(e))));
      else cli.print(formatEvent(e));
    },
    ['timeNano'],
  );
}

async function df(cli: Cli, a: Record<string, any>): Promise<void> {
  const d = await cli.client.get('/system/df');
  const images: any[] = d.Images ?? [];
  const containers: any[] = d.Containers ?? [];
  const volumes: any[] = d.Volumes ?? [];
  const cache: any[] = d.BuildCache ?? [];
  const bSize = cache.reduce((s, b) => s + (b.Size ?? 0), 0);
  if (a.verbose) {
    cli.out.write(dfVerbose(images, containers, volumes, cache, bSize));
    return;
  }
  // docker's summary: sizes with 4 significant digits, whole percentages rounded down.
  const pct = (part: number, total: number) => (total > 0 ? ` (${Math.floor((part * 100) / total)}%)` : '');
  const imgSize = d.LayersSize ?? images.reduce((s, i) => s + (i.Size ?? 0), 0);
  const imgActive = images.filter((i) => (i.Containers ?? 0) > 0);
  const imgUsed = imgActive.filter((i) => i.Size >= 0 && (i.SharedSize ?? 0) >= 0).reduce((s, i) => s + (i.Size ?? 0) - (i.SharedSize ?? 0), 0);
  const imgReclaim = Math.max(0, imgSize - imgUsed);
  const active = (c: any) => /running|paused|restarting/.test(c.State ?? '');
  const cSize = containers.reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const cActive = containers.filter(active);
  const cReclaim = containers.filter((c) => !active(c)).reduce((s, c) => s + (c.SizeRw ?? 0), 0);
  const vSize = volumes.reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const vActive = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0);
  const vReclaim = volumes.filter((v) => (v.UsageData?.RefCount ?? 0) === 0).reduce((s, v) => s + Math.max(0, v.UsageData?.Size ?? 0), 0);
  const bReclaim = cache.filter((b) => !b.InUse && !b.Shared).reduce((s, b) => s + (b.Size ?? 0), 0);
  const rows = [
    { Type: 'Images', TotalCount: String(images.length), Active: String(imgActive.length), Size: humanSize(imgSize), Reclaimable: `${humanSize(imgReclaim)}${pct(imgReclaim, imgSize)}` },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(cActive.length), Size: humanSize(cSize), Reclaimable: `${humanSize(cReclaim)}${pct(cReclaim, cSize)}` },
    { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(vActive.length), Size: humanSize(vSize), Reclaimable: `${humanSize(vReclaim)}${pct(vReclaim, vSize)}` },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize(bSize), Reclaimable: humanSize(bReclaim) },
  ];
  cli.out.write(
    renderList(rows, a.format, {
      defaultTable: 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}',
      headers: { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' },
    }),
  );
}

/** `system df -v`: docker's four sections, one table each. */
function dfVerbose(images: any[], containers: any[], volumes: any[], cache: any[], cacheSize: number): string {
  const now = Date.now();
  const imageRowsAll = images.flatMap((i) => imageRows(i, {}, now));
  const containerRows = containers.map((c) => ({ ...containerRow(c, {}, now), Size: humanSize(c.SizeRw ?? 0, 3) }));
  const cacheRows = cache.map((b) => ({
    ID: String(b.ID ?? '').slice(0, 12),
    CacheType: b.Type ?? '',
    Size: humanSize(b.Size ?? 0),
    CreatedSince: b.CreatedAt ? ago(b.CreatedAt, now) : '',
    LastUsedSince: b.LastUsedAt ? ago(b.LastUsedAt, now) : '',
    UsageCount: String(b.UsageCount ?? 0),
    Shared: b.Shared ? 'true' : 'false',
  }));
  const section = (title: string, rows: Row[], spec: ListFormat) => `${title}\n\n${renderList(rows, undefined, spec)}`;
  return [
    section('Images space usage:', imageRowsAll, { ...imageFormat, defaultTable: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}' }),
    section('Containers space usage:', containerRows, { ...containerFormat, defaultTable: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}' }),
    section('Local Volumes space usage:', volumes.map(volumeRow), { ...volumeFormat, defaultTable: 'table {{.Name}}\t{{.Links}}\t{{.Size}}' }),
    section(`Build cache usage: ${humanSize(cacheSize)}`, cacheRows, {
      defaultTable: 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}',
      headers: { ID: 'CACHE ID', CacheType: 'CACHE TYPE', Size: 'SIZE', CreatedSince: 'CREATED', LastUsedSince: 'LAST USED', UsageCount: 'USAGE', Shared: 'SHARED' },
    }),
  ].join('\n');
}

async function prune(cli: Cli, a: Record<string, any>): Promise<void> {
  const what = ['all stopped containers', 'all networks not used by at least one container', a.all ? 'all images without at least one container associated to them' : 'all dangling images'];
  if (a.volumes) what.splice(2, 0, 'anonymous volumes not used by at least one container');
  if (!a.force && !(await confirm(cli, `WARNING! This will remove:\n${what.map((w) => `  - ${w}`).join('\n')}\n\nAre you sure you want to continue?`))) return;
  const c = cli.client;
  const filters = filtersJson(a.filter);
  let reclaimed = 0;
  const cr = await c.post('/containers/prune', { filters });
  reclaimed += cr?.SpaceReclaimed ?? 0;
  if (cr?.ContainersDeleted?.length) cli.out.write(`Deleted Containers:\n${cr.ContainersDeleted.join('\n')}\n\n`);
  const nr = await c.post('/networks/prune', { filters });
  if (nr?.NetworksDeleted?.length) cli.out.write(`Deleted Networks:\n${nr.NetworksDeleted.join('\n')}\n\n`);
  if (a.volumes) {
    const vr = await c.post('/volumes/prune', { filters });
    reclaimed += vr?.SpaceReclaimed ?? 0;
    if (vr?.VolumesDeleted?.length) cli.out.write(`Deleted Volumes:\n${vr.VolumesDeleted.join('\n')}\n\n`);
  }
  const ir = await c.post('/images/prune', { filters: filtersJson([...toArray(a.filter), `dangling=${a.all ? 'false' : 'true'}`]) });
  reclaimed += ir?.SpaceReclaimed ?? 0;
  if (ir?.ImagesDeleted?.length) cli.out.write(`Deleted Images:\n${ir.ImagesDeleted.map((x: any) => (x.Untagged ? `untagged: ${x.Untagged}` : `deleted: ${x.Deleted}\n\n`)).join('\n')}\n`);
  cli.print(`Total reclaimed space: ${humanSize(reclaimed)}`);
}

const INSPECT_KINDS = ['container', 'image', 'volume', 'network'] as const;

async function inspectOne(cli: Cli, name: string, type?: string): Promise<unknown> {
  const kinds = type ? [type] : INSPECT_KINDS;
  for (const k of kinds) {
    // With --type the daemon's own error is shown; without, docker's "No such object".
    if (type) return cli.client.get(inspectPath(k, name));
    try {
      return await cli.client.get(inspectPath(k, name));
    } catch (e) {
      if (!(e instanceof DaemonError && e.statusCode === 404)) throw e;
    }
  }
  throw new CliError(`Error: No such object: ${name}`);
}

function inspectPath(kind: string, name: string): string {
  if (kind === 'container') return `/containers/${enc(name)}/json`;
  if (kind === 'image') return `/images/${enc(name)}/json`;
  if (kind === 'volume') return `/volumes/${enc(name)}`;
  return `/networks/${enc(name)}`;
}

export function commands(cli: Cli): CommandModule<any, any>[] {
  const fmt = { alias: 'f', type: 'string' as const, describe: 'Format output using a custom template' };
  const eventOpts = {
    filter: { alias: 'f', type: 'string' as const, describe: 'Filter output based on conditions provided' },
    format: { type: 'string' as const, describe: 'Format output using a custom template' },
    since: { type: 'string' as const, describe: 'Show all events created since timestamp' },
    until: { type: 'string' as const, describe: 'Stream events until this timestamp' },
  };
  const infoCmd = (name: string) => command(name, 'Display system-wide information', { format: fmt }, (a) => info(cli, a));
  const eventsCmd = (name: string) => command(name, 'Get real time events from the server', eventOpts, (a) => events(cli, a));
  return [
    command('version', 'Show the berth version information', { format: fmt }, (a) => version(cli, a)),
    infoCmd('info'),
    eventsCmd('events'),
    command('inspect <names..>', 'Return low-level information on berth objects', {
      format: fmt,
      size: { alias: 's', type: 'boolean', describe: 'Display total file sizes if the type is container' },
      type: { type: 'string', describe: 'Only inspect objects of the given type' },
    }, async (a) => {
      if (a.type && !(INSPECT_KINDS as readonly string[]).includes(a.type)) throw new CliError(`"${a.type}" is not a valid value for --type`);
      return inspectEach(cli, toArray(a.names), (n) => inspectOne(cli, n, a.type), (items) => (items.length || !a.format ? renderInspect(items, a.format) : undefined));
    }),
    {
      command: 'system',
      describe: 'Manage berth',
      builder: (y) =>
        y
          .command([
            infoCmd('info'),
            eventsCmd('events'),
            command('df', 'Show berth disk usage', { format: { type: 'string', describe: 'Format output using a custom template' }, verbose: { alias: 'v', type: 'boolean', describe: 'Show detailed information on space usage' } }, (a) => df(cli, a)),
            command('prune', 'Remove unused data', {
              all: { alias: 'a', type: 'boolean', describe: 'Remove all unused images not just dangling ones' },
              filter: { type: 'string', describe: 'Provide filter values' },
              force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
              volumes: { type: 'boolean', describe: 'Prune anonymous volumes' },
            }, (a) => prune(cli, a)),
          ])
          .demandCommand(1, 'berth system requires a subcommand'),
      handler: () => {},
    },
  ];
}

