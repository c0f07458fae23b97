// Container commands that are plain requests: ps, stop, kill, rm, logs, top, stats,
// wait, pause, unpause, rename, cp, port, update, restart, container prune.
import { cpSync, createWriteStream, existsSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CommandModule } from 'yargs';
import { type Cli, CliError, forEach, toArray } from '../cli.js';
import { DaemonError } from '../client/engine.js';
import { demultiplex } from '../client/frames.js';
import { containerFormat, containerRow } from '../format/contexts.js';
import { renderList } from '../format/output.js';
import { alignTabs } from '../format/table.js';
import { apiTimestamp, bytesSize, humanSize, parseBytes } from '../format/units.js';
import { readConfig } from './config.js';
import { type Args, command, confirm, filterOption, filtersJson, formatOption, noTruncOption, quietOption } from './common.js';

/** A default --format from config.json (psFormat, imagesFormat), as docker reads it. */
export function configFormat(cli: Cli, key: 'psFormat' | 'imagesFormat'): string | undefined {
  try {
    const v = readConfig(cli.configDir)[key];
    return typeof v === 'string' && v ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function listContainers(cli: Cli, a: Args): Promise<string> {
  const format: string | undefined = a.format;
  const wantsSize = Boolean(a.size) || (format !== undefined && /\.Size\b|json/.test(format) && !a.quiet);
  const limit = a.latest ? 1 : a.last;
  const list: any[] = await cli.client.get('/containers/json', {
    all: a.all || (limit !== undefined && limit > 0) ? '1' : undefined,
    limit: limit !== undefined && limit > 0 ? limit : undefined,
    size: wantsSize ? '1' : undefined,
    filters: filtersJson(a.filter),
  });
  const rows = list.map((c) => containerRow(c, { noTrunc: a.noTrunc }));
  let fmt = format ?? configFormat(cli, 'psFormat');
  if (!format && a.size) fmt = `${containerFormat.defaultTable}\t{{.Size}}`;
  if (a.quiet && !(format && format !== 'table')) fmt = '{{.ID}}';
  return renderList(rows, fmt, containerFormat, a.quiet);
}

const ps = (cli: Cli): CommandModule<any, any> =>
  command(
    'ps',
    'List containers',
    {
      all: { alias: 'a', type: 'boolean', describe: 'Show all containers (default shows just running)' },
      filter: filterOption,
      format: formatOption,
      last: { alias: 'n', type: 'number', describe: 'Show n last created containers (includes all states)' },
      latest: { alias: 'l', type: 'boolean', describe: 'Show the latest created container (includes all states)' },
      'no-trunc': noTruncOption,
      quiet: quietOption,
      size: { alias: 's', type: 'boolean', describe: 'Display total file sizes' },
    },
    async (a) => {
      cli.out.write(await listContainers(cli, a));
    },
  );

function names(a: Args): string[] {
  return toArray(a.containers);
}

async function isTty(cli: Cli, id: string): Promise<boolean> {
  const c = await cli.client.get(`/containers/${encodeURIComponent(id)}/json`);
  return Boolean(c?.Config?.Tty);
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function printTop(cli: Cli, top: { Titles: string[]; Processes: string[][] }): void {
  const text = [top.Titles.join('\t'), ...(top.Processes ?? []).map((p) => p.join('\t'))].join('\n');
  cli.print(alignTabs(text, { minWidth: 20, padding: 3 }));
}

/** One `docker stats` row from a stats sample (cgroup v1 and v2 shapes). */
export function statsRow(s: any, noTrunc = false): Record<string, string> {
  const cpuDelta = (s.cpu_stats?.cpu_usage?.total_usage ?? 0) - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats?.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats?.online_cpus || s.cpu_stats?.cpu_usage?.percpu_usage?.length || 1;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const mstats = s.memory_stats?.stats ?? {};
  const cache = mstats.total_inactive_file ?? mstats.inactive_file ?? mstats.cache ?? 0;
  const used = Math.max(0, (s.memory_stats?.usage ?? 0) - cache);
  const limit = s.memory_stats?.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const n of Object.values<any>(s.networks ?? {})) {
    rx += n.rx_bytes ?? 0;
    tx += n.tx_bytes ?? 0;
  }
  let rd = 0;
  let wr = 0;
  for (const e of s.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (/^read$/i.test(e.op)) rd += e.value;
    if (/^write$/i.test(e.op)) wr += e.value;
  }
  const id: string = s.id ?? '';
  return {
    ID: noTrunc ? id : id.slice(0, 12),
    Container: noTrunc ? id : id.slice(0, 12),
    Name: (s.name ?? '').replace(/^\//, ''),
    CPUPerc: `${cpu.toFixed(2)}%`,
    MemUsage: `${bytesSize(used)} / ${bytesSize(limit)}`,
    MemPerc: `${limit > 0 ? ((used / limit) * 100).toFixed(2) : '0.00'}%`,
    NetIO: `${humanSize(rx, 3)} / ${humanSize(tx, 3)}`,
    BlockIO: `${humanSize(rd, 3)} / ${humanSize(wr, 3)}`,
    PIDs: String(s.pids_stats?.current ?? 0),
  };
}

const statsFormat = {
  defaultTable: 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}',
  headers: {
    ID: 'CONTAINER ID',
    Container: 'CONTAINER',
    Name: 'NAME',
    CPUPerc: 'CPU %',
    MemUsage: 'MEM USAGE / LIMIT',
    MemPerc: 'MEM %',
    NetIO: 'NET I/O',
    BlockIO: 'BLOCK I/O',
    PIDs: 'PIDS',
  },
};

function parseCpTarget(value: unknown): { container?: string; path: string } {
  // yargs hands a lone `-` positional over as `true`.
  const arg = value === true ? '-' : String(value);
  // CONTAINER:PATH, unless it looks like a local path (starts with / or .).
  if (arg.startsWith('/') || arg.startsWith('.') || arg === '-') return { path: arg };
  const i = arg.indexOf(':');
  if (i <= 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** The container path's stat from the archive HEAD (docker's ContainerStatPath), or undefined. */
async function statPath(cli: Cli, container: string, path: string): Promise<{ mode: number } | undefined> {
  try {
    const res = await cli.client.stream('HEAD', `/containers/${enc(container)}/archive`, { query: { path } });
    res.resume();
    const header = res.headers['x-docker-container-path-stat'];
    return typeof header === 'string' ? JSON.parse(Buffer.from(header, 'base64').toString()) : undefined;
  } catch (e) {
    if (e instanceof DaemonError && e.statusCode === 404) return undefined;
    throw e;
  }
}

async function copy(cli: Cli, srcArg: string, dstArg: string): Promise<void> {
  const src = parseCpTarget(srcArg);
  const dst = parseCpTarget(dstArg);
  const tar = await import('tar');
  if (src.container && !dst.container) {
    const res = await cli.client.stream('GET', `/containers/${enc(src.container)}/archive`, { query: { path: src.path } });
    if (dst.path === '-') {
      // A failed write (a full disk) must fail the command, as docker's does.
      await pipeline(res, cli.out, { end: false });
      return;
    }
    const target = resolve(dst.path);
    if (existsSync(target) && statSync(target).isDirectory()) {
      await pipeInto(res, tar.x({ cwd: target }));
      return;
    }
    // Copy to a new name: unpack beside the target, then rename the one top entry.
    const tmp = mkdtempSync(join(dirname(target), '.berth-cp-'));
    try {
      await pipeInto(res, tar.x({ cwd: tmp }));
      const entry = basename(src.path.replace(/\/+$/, '')) || '.';
      renameSync(join(tmp, entry), target);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return;
  }
  if (!src.container && dst.container) {
    let body: NodeJS.ReadableStream;
    let destDir = dst.path;
    let tmp: string | undefined;
    if (src.path === '-') {
      // A tar stream unpacks into a directory that must exist, as docker checks first.
      const stat = await statPath(cli, dst.container, dst.path);
      if (!stat || (stat.mode & 0x80000000) === 0) throw new CliError(`destination "${dst.container}:${dst.path}" must be a directory`);
      body = process.stdin;
    } else {
      const local = resolve(src.path);
      if (!existsSync(local)) throw new CliError(`lstat ${local}: no such file or directory`);
      let destIsDir = false;
      try {
        const stat = await cli.client.stream('HEAD', `/containers/${enc(dst.container)}/archive`, { query: { path: dst.path } });
        stat.resume();
        const header = stat.headers['x-docker-container-path-stat'];
        if (typeof header === 'string') destIsDir = (JSON.parse(Buffer.from(header, 'base64').toString()).mode & 0x80000000) !== 0;
      } catch {
        destIsDir = false;
      }
      let dir = dirname(local);
      let name = basename(local);
      if (!destIsDir) {
        // The destination names the copy: pack the source under that name.
        destDir = dirname(dst.path) || '/';
        tmp = mkdtempSync(join(dirname(local), '.berth-cp-'));
        cpSync(local, join(tmp, basename(dst.path)), { recursive: true });
        dir = tmp;
        name = basename(dst.path);
      }
      // Not `portable`: node-tar then drops directory mtimes. Owners travel as docker's CLI sends them.
      body = tar.c({ cwd: dir }, [name]) as unknown as NodeJS.ReadableStream;
    }
    try {
      const res = await cli.client.stream('PUT', `/containers/${enc(dst.container)}/archive`, { query: { path: destDir }, raw: body });
      res.resume();
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    return;
  }
  throw new CliError('copying between containers is not supported', 1);
}

function pipeInto(src: NodeJS.ReadableStream, dst: NodeJS.WritableStream): Promise<void> {
  return new Promise((res, rej) => {
    src.pipe(dst);
    dst.on('finish', () => res());
    dst.on('close', () => res());
    dst.on('error', rej);
    src.on('error', rej);
  });
}

/** `top CONTAINER -o pid,comm`: ps options after the container are not berth's. */
export const positionalStops: Record<string, Record<string, never>> = { top: {} };

export function commands(cli: Cli): CommandModule<any, any>[] {
  const c = cli.client;
  return [
    ps(cli),
    command('stop <containers..>', 'Stop one or more running containers', {
      signal: { alias: 's', type: 'string', describe: 'Signal to send to the container' },
      time: { alias: 't', type: 'number', describe: 'Seconds to wait before killing the container' },
    }, (a) => forEach(cli, names(a), async (n) => {
      await c.post(`/containers/${enc(n)}/stop`, { t: a.time, signal: a.signal });
      return n;
    })),
    command('restart <containers..>', 'Restart one or more containers', {
      signal: { alias: 's', type: 'string', describe: 'Signal to send to the container' },
      time: { alias: 't', type: 'number', describe: 'Seconds to wait before killing the container' },
    }, (a) => forEach(cli, names(a), async (n) => {
      await c.post(`/containers/${enc(n)}/restart`, { t: a.time, signal: a.signal });
      return n;
    })),
    command('kill <containers..>', 'Kill one or more running containers', {
      signal: { alias: 's', type: 'string', describe: 'Signal to send to the container' },
    }, (a) => forEach(cli, names(a), async (n) => {
      await c.post(`/containers/${enc(n)}/kill`, { signal: a.signal });
      return n;
    })),
    command('rm <containers..>', 'Remove one or more containers', {
      force: { alias: 'f', type: 'boolean', describe: 'Force the removal of a running container (uses SIGKILL)' },
      link: { alias: 'l', type: 'boolean', describe: 'Remove the specified link' },
      volumes: { alias: 'v', type: 'boolean', describe: 'Remove anonymous volumes associated with the container' },
    }, (a) => forEach(cli, names(a), async (n) => {
      await c.delete(`/containers/${enc(n)}`, { force: a.force ? '1' : undefined, v: a.volumes ? '1' : undefined, link: a.link ? '1' : undefined });
      return n;
    }), { aliases: ['remove'] }),
    command('pause <containers..>', 'Pause all processes within one or more containers', {}, (a) =>
      forEach(cli, names(a), async (n) => {
        await c.post(`/containers/${enc(n)}/pause`);
        return n;
      })),
    command('unpause <containers..>', 'Unpause all processes within one or more containers', {}, (a) =>
      forEach(cli, names(a), async (n) => {
        await c.post(`/containers/${enc(n)}/unpause`);
        return n;
      })),
    command('wait <containers..>', 'Block until one or more containers stop, then print their exit codes', {}, (a) =>
      forEach(cli, names(a), async (n) => {
        const r = await c.post(`/containers/${enc(n)}/wait`);
        return String(r?.StatusCode ?? '');
      })),
    command('rename <container> <newName>', 'Rename a container', {}, async (a) => {
      try {
        await c.post(`/containers/${enc(a.container)}/rename`, { name: a.newName });
      } catch (e) {
        cli.report(e);
        throw new CliError(`Error: failed to rename container named ${a.container}`);
      }
    }),
    command('top <container> [psArgs..]', 'Display the running processes of a container', {}, async (a) => {
      // Everything after the container is ps's (dispatch puts it in `command`, see positionalStops).
      const psArgs = [...toArray(a.psArgs), ...toArray(a.command)];
      const top = await c.get(`/containers/${enc(a.container)}/top`, { ps_args: psArgs.join(' ') || undefined });
      printTop(cli, top);
    }),
    command('port <container> [privatePort]', 'List port mappings or a specific mapping for the container', {}, async (a) => {
      const info = await c.get(`/containers/${enc(a.container)}/json`);
      const ports: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = info?.NetworkSettings?.Ports ?? {};
      const fmt = (b: { HostIp: string; HostPort: string }) => `${b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp || '0.0.0.0'}:${b.HostPort}`;
      if (a.privatePort !== undefined) {
        const want = String(a.privatePort).includes('/') ? String(a.privatePort) : `${a.privatePort}/tcp`;
        const bindings = ports[want];
        if (!bindings?.length) throw new CliError(`Error: No public port '${a.privatePort}' published for ${a.container}`);
        for (const b of bindings) cli.print(fmt(b));
        return;
      }
      for (const key of Object.keys(ports).sort()) for (const b of ports[key] ?? []) cli.print(`${key} -> ${fmt(b)}`);
    }),
    command('logs <container>', 'Fetch the logs of a container', {
      details: { type: 'boolean', describe: 'Show extra details provided to logs' },
      follow: { alias: 'f', type: 'boolean', describe: 'Follow log output' },
      since: { type: 'string', describe: 'Show logs since timestamp or relative (e.g. 42m)' },
      tail: { alias: 'n', type: 'string', describe: 'Number of lines to show from the end of the logs', default: 'all' },
      timestamps: { alias: 't', type: 'boolean', describe: 'Show timestamps' },
      until: { type: 'string', describe: 'Show logs before a timestamp or relative (e.g. 42m)' },
    }, async (a) => {
      const tty = await isTty(cli, a.container);
      const res = await c.stream('GET', `/containers/${enc(a.container)}/logs`, {
        query: {
          stdout: '1',
          stderr: '1',
          follow: a.follow ? '1' : undefined,
          since: apiTimestamp(a.since),
          until: apiTimestamp(a.until),
          tail: a.tail,
          timestamps: a.timestamps ? '1' : undefined,
          details: a.details ? '1' : undefined,
        },
      });
      if (tty) {
        res.pipe(cli.out, { end: false });
        await new Promise((r) => res.on('end', r));
      } else await demultiplex(res, cli.out, cli.err);
    }),
    command('stats [containers..]', 'Display a live stream of container(s) resource usage statistics', {
      all: { alias: 'a', type: 'boolean', describe: 'Show all containers (default shows just running)' },
      format: formatOption,
      'no-stream': { type: 'boolean', describe: 'Disable streaming stats and only pull the first result' },
      'no-trunc': noTruncOption,
    }, async (a) => {
      const sample = async () => {
        const named = toArray(a.containers).length > 0;
        let ids = toArray(a.containers);
        if (!named) ids = (await c.get<any[]>('/containers/json', { all: a.all ? '1' : undefined })).map((x) => x.Id);
        const rows = [];
        // {{.Container}} is the name or ID as given (docker's stats entry key).
        for (const id of ids) {
          const row = statsRow(await c.get(`/containers/${enc(id)}/stats`, { stream: 'false' }), a.noTrunc);
          rows.push(named ? { ...row, Container: id } : row);
        }
        return renderList(rows, a.format, statsFormat);
      };
      if (a.noStream || !cli.out.isTTY) {
        cli.out.write(await sample());
        return;
      }
      for (;;) {
        const text = await sample();
        cli.out.write(`\x1b[2J\x1b[H${text}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }),
    command('cp <src> <dest>', 'Copy files/folders between a container and the local filesystem', {
      archive: { alias: 'a', type: 'boolean', describe: 'Archive mode (copy all uid/gid information)' },
      'follow-link': { alias: 'L', type: 'boolean', describe: 'Always follow symbol link in SRC_PATH' },
      quiet: { alias: 'q', type: 'boolean', describe: 'Suppress progress output during copy' },
    }, async (a) => {
      await copy(cli, a.src, a.dest);
    }),
    command('export <container>', "Export a container's filesystem as a tar archive", { output: { alias: 'o', type: 'string', describe: 'Write to a file, instead of STDOUT' } }, async (a) => {
      if (!a.output && cli.out.isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      const res = await c.stream('GET', `/containers/${enc(a.container)}/export`);
      const sink: NodeJS.WritableStream = a.output ? createWriteStream(a.output) : cli.out;
      await new Promise<void>((ok, fail) => {
        sink.on('error', fail);
        res.on('error', fail);
        if (a.output) sink.on('finish', () => ok());
        else res.on('end', () => ok());
        res.pipe(sink, { end: Boolean(a.output) });
      });
    }),
    command('update <containers..>', 'Update configuration of one or more containers', {
      'blkio-weight': { type: 'number', describe: 'Block IO (relative weight), between 10 and 1000, or 0 to disable' },
      'cpu-period': { type: 'number', describe: 'Limit CPU CFS (Completely Fair Scheduler) period' },
      'cpu-quota': { type: 'number', describe: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
      'cpu-shares': { alias: 'c', type: 'number', describe: 'CPU shares (relative weight)' },
      cpus: { type: 'number', describe: 'Number of CPUs' },
      'cpuset-cpus': { type: 'string', describe: 'CPUs in which to allow execution (0-3, 0,1)' },
      'cpuset-mems': { type: 'string', describe: 'MEMs in which to allow execution (0-3, 0,1)' },
      memory: { alias: 'm', type: 'string', describe: 'Memory limit' },
      'memory-reservation': { type: 'string', describe: 'Memory soft limit' },
      'memory-swap': { type: 'string', describe: 'Swap limit equal to memory plus swap: -1 to enable unlimited swap' },
      'pids-limit': { type: 'number', describe: 'Tune container pids limit (set -1 for unlimited)' },
      restart: { type: 'string', describe: 'Restart policy to apply when a container exits' },
    }, (a) => {
      const body: Record<string, unknown> = {};
      // A bad size is a flag error: docker names the flag and exits 125.
      const bytes = (flag: string, v: string) => {
        try {
          return parseBytes(v);
        } catch (e) {
          throw new CliError(`invalid argument "${v}" for "${flag}" flag: ${(e as Error).message}\nSee 'berth update --help'.`, 125);
        }
      };
      if (a.blkioWeight !== undefined) body.BlkioWeight = a.blkioWeight;
      if (a.cpuPeriod !== undefined) body.CpuPeriod = a.cpuPeriod;
      if (a.cpuQuota !== undefined) body.CpuQuota = a.cpuQuota;
      if (a.cpuShares !== undefined) body.CpuShares = a.cpuShares;
      if (a.cpus !== undefined) body.NanoCpus = Math.round(a.cpus * 1e9);
      if (a.cpusetCpus !== undefined) body.CpusetCpus = a.cpusetCpus;
      if (a.cpusetMems !== undefined) body.CpusetMems = a.cpusetMems;
      if (a.memory !== undefined) body.Memory = bytes('-m, --memory', a.memory);
      if (a.memoryReservation !== undefined) body.MemoryReservation = bytes('--memory-reservation', a.memoryReservation);
      if (a.memorySwap !== undefined) body.MemorySwap = a.memorySwap === '-1' ? -1 : bytes('--memory-swap', a.memorySwap);
      if (a.pidsLimit !== undefined) body.PidsLimit = a.pidsLimit;
      if (a.restart !== undefined) body.RestartPolicy = restartPolicy(a.restart);
      if (Object.keys(body).length === 0) throw new CliError('you must provide one or more flags when using this command', 1);
      return forEach(cli, names(a), async (n) => {
        const r = await c.post(`/containers/${enc(n)}/update`, undefined, body);
        for (const w of r?.Warnings ?? []) cli.err.write(`${w}\n`);
        return n;
      });
    }),
    command('container-prune', 'Remove all stopped containers', {
      filter: { type: 'string', describe: 'Provide filter values' },
      force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
    }, async (a) => {
      if (!a.force && !(await confirm(cli, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return;
      const r = await c.post('/containers/prune', { filters: filtersJson(a.filter) });
      const deleted: string[] = r?.ContainersDeleted ?? [];
      if (deleted.length) cli.out.write(`Deleted Containers:\n${deleted.join('\n')}\n\n`);
      cli.print(`Total reclaimed space: ${humanSize(r?.SpaceReclaimed ?? 0)}`);
    }),
  ];
}

/** `--restart no|always|unless-stopped|on-failure[:N]` as a RestartPolicy. */
export function restartPolicy(v: string): { Name: string; MaximumRetryCount?: number } {
  const [name, count] = v.split(':');
  if (!['no', 'always', 'unless-stopped', 'on-failure', ''].includes(name)) throw new CliError(`invalid restart policy '${v}'`, 125);
  if (count !== undefined) {
    if (name !== 'on-failure') throw new CliError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`, 125);
    return { Name: name, MaximumRetryCount: Number(count) };
  }
  return { Name: name === '' ? 'no' : name };
}

