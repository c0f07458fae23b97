// /containers/*: parses requests and formats answers; behaviour is ContainerService's.
import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { type Request, Router } from 'express';
import { invalid } from '../errors.js';
import type { ContainerRecord } from '../containers/model.js';
import type { ContainerService, WaitCondition } from '../containers/service.js';
import { readLogBatches, readLogs } from '../logs/jsonfile.js';
import { type Sample, sample, statsJson } from '../stats/stats.js';
import { boolParam, EMPTY_CONTAINER_CONFIG, humanDuration, intParam, parseFilters, timeParam } from './format.js';
import { frame, hijack, MULTIPLEXED, OutputBatch, RAW, STDERR, STDOUT } from './streams.js';

/** The human status `docker ps` shows ("Up 3 seconds", "Exited (0) 2 minutes ago"…). */
export function statusText(c: ContainerRecord): string {
  const s = c.State;
  if (s.Running) {
    const up = `Up ${humanDuration(Date.now() - Date.parse(s.StartedAt))}`;
    if (s.Paused) return `${up} (Paused)`;
    const h = s.Health?.Status;
    return h === 'starting' ? `${up} (health: starting)` : h === 'healthy' || h === 'unhealthy' ? `${up} (${h})` : up;
  }
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(Date.now() - Date.parse(s.FinishedAt))} ago`;
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Status === 'dead') return 'Dead';
  if (s.StartedAt === '0001-01-01T00:00:00Z') return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(Date.now() - Date.parse(s.FinishedAt))} ago`;
}

function ports(c: ContainerRecord): object[] {
  const out: object[] = [];
  for (const [k, binds] of Object.entries(c.NetworkSettings?.Ports ?? {})) {
    const [port, proto] = k.split('/');
    if (!binds?.length) out.push({ PrivatePort: Number(port), Type: proto ?? 'tcp' });
    for (const b of binds ?? []) {
      out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: proto ?? 'tcp' });
    }
  }
  return out;
}

function networks(c: ContainerRecord): Record<string, object> {
  const mode = c.HostConfig.NetworkMode ?? 'bridge';
  const name = mode === 'default' ? 'bridge' : mode;
  const ns = c.NetworkSettings ?? {};
  return {
    [name]: {
      IPAMConfig: c.RequestedIPv4 ? { IPv4Address: c.RequestedIPv4 } : null,
      Links: null,
      Aliases: null,
      MacAddress: ns.MacAddress ?? '',
      NetworkID: ns.NetworkID ?? name,
      EndpointID: c.State.Running ? (ns.EndpointID ?? '') : '',
      Gateway: ns.Gateway ?? '',
      IPAddress: ns.IPAddress ?? '',
      IPPrefixLen: ns.IPAddress ? (ns.IPPrefixLen ?? 16) : 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: null,
    },
    // Networks joined with `docker network connect`: addressed while the container runs.
    ...Object.fromEntries(
      (c.ExtraNetworks ?? []).map((x) => {
        const ep = c.State.Running ? ns.Endpoints?.[x.id] : undefined;
        return [
          x.name,
          {
            IPAMConfig: x.ipv4 ? { IPv4Address: x.ipv4 } : null,
            Links: null,
            Aliases: null,
            MacAddress: ep?.MacAddress ?? '',
            NetworkID: x.id,
            EndpointID: ep?.EndpointID ?? '',
            Gateway: ep?.Gateway ?? '',
            IPAddress: ep?.IPAddress ?? '',
            IPPrefixLen: ep?.IPPrefixLen ?? 0,
            IPv6Gateway: '',
            GlobalIPv6Address: '',
            GlobalIPv6PrefixLen: 0,
            DNSNames: null,
          },
        ];
      }),
    ),
  };
}

function summary(c: ContainerRecord): object {
  return {
    Id: c.ID,
    Names: [c.Name],
    Image: c.Config.Image,
    ImageID: c.Image,
    Command: c.Args.length ? `${c.Path} ${c.Args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}` : c.Path,
    Created: Math.floor(Date.parse(c.Created) / 1000),
    Ports: ports(c),
    Labels: c.Config.Labels ?? {},
    State: c.State.Status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? 'bridge' },
    NetworkSettings: { Networks: networks(c) },
    Mounts: c.Mounts,
  };
}

export function inspect(c: ContainerRecord, execIds: string[]): object {
  const ns = c.NetworkSettings ?? {};
  return {
    Id: c.ID,
    Created: c.Created,
    Path: c.Path,
    Args: c.Args,
    State: c.State,
    Image: c.Image,
    ResolvConfPath: c.ResolvConfPath,
    HostnamePath: c.HostnamePath,
    HostsPath: c.HostsPath,
    LogPath: c.LogPath,
    Name: c.Name,
    RestartCount: c.RestartCount,
    Driver: 'overlayfs',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      Binds: null,
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: 'bridge',
      PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      CapAdd: null,
      CapDrop: null,
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      ShmSize: 67108864,
      Runtime: 'runc',
      Memory: 0,
      MemorySwap: 0,
      NanoCpus: 0,
      CpuShares: 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpusetCpus: '',
      PidsLimit: null,
      BlkioWeight: 0,
      Ulimits: null,
      Init: null,
      ...c.HostConfig,
    },
    GraphDriver: { Name: 'overlayfs', Data: null },
    Mounts: c.Mounts,
    Config: {
      ...EMPTY_CONTAINER_CONFIG,
      Labels: {},
      ...c.Config,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: c.State.Running ? c.ID : '',
      SandboxKey: c.State.Running && c.State.Pid ? `/proc/${c.State.Pid}/ns/net` : '',
      Ports: ns.Ports ?? {},
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: ns.IPAddress ? (ns.EndpointID ?? '') : '',
      Gateway: ns.Gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: ns.IPAddress ?? '',
      IPPrefixLen: ns.IPAddress ? (ns.IPPrefixLen ?? 16) : 0,
      IPv6Gateway: '',
      MacAddress: ns.MacAddress ?? '',
      Networks: networks(c),
    },
  };
}

function matches(c: ContainerRecord, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    if (!values.length) continue;
    const ok = values.some((v) => {
      switch (key) {
        case 'status':
          return c.State.Status === v;
        case 'id':
          return c.ID.startsWith(v);
        case 'name':
          return new RegExp(v).test(c.Name.slice(1)) || c.Name === v;
        case 'label': {
          const i = v.indexOf('=');
          const labels = c.Config.Labels ?? {};
          return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
        }
        case 'ancestor':
          return c.Config.Image === v || c.Image === v || c.Image.startsWith(`sha256:${v}`) || c.ImageRef.includes(v);
        case 'health':
          return (c.State.Health?.Status ?? 'none') === v;
        case 'exited':
          return !c.State.Running && String(c.State.ExitCode) === v;
        default:
          throw invalid(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

export function containersRouter(
  svc: ContainerService,
  execIds: (id: string) => string[],
  tmpDir = '/tmp',
  imageSize: (c: ContainerRecord) => Promise<number> = async () => 0,
): Router {
  const r = Router();
  const id = (req: Request) => String(req.params.id);

  r.post('/containers/create', async (req, res) => {
    const name = typeof req.query.name === 'string' ? req.query.name : undefined;
    const out = await svc.create(req.body, name);
    res.status(201).json(out);
  });

  r.post('/containers/prune', async (req, res) => {
    const filters = parseFilters(req.query.filters);
    const deleted: string[] = [];
    for (const c of svc.list()) {
      if (c.State.Running || c.State.Restarting) continue;
      if (!matches(c, new Map([...filters].filter(([k]) => k === 'label')))) continue;
      await svc.remove(c.ID, { force: false, volumes: false });
      deleted.push(c.ID);
    }
    res.json({ ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 });
  });

  r.get('/containers/json', async (req, res) => {
    const all = boolParam(req.query.all);
    const limit = intParam(req.query.limit);
    const filters = parseFilters(req.query.filters);
    let list = svc
      .list()
      .filter((c) => all || c.State.Running || filters.has('status') || (limit !== undefined && limit > 0))
      .filter((c) => matches(c, filters))
      .sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created));
    if (limit !== undefined && limit > 0) list = list.slice(0, limit);
    if (!boolParam(req.query.size)) {
      res.json(list.map(summary));
      return;
    }
    res.json(await Promise.all(list.map(async (c) => ({ ...summary(c), SizeRw: await svc.sizeRw(c), SizeRootFs: (await svc.sizeRw(c)) + (await imageSize(c)) }))));
  });

  r.get('/containers/:id/json', (req, res) => {
    const c = svc.get(id(req));
    res.json(inspect(c, execIds(c.ID)));
  });

  r.post('/containers/:id/start', async (req, res) => {
    await svc.start(id(req));
    res.status(204).end();
  });

  r.post('/containers/:id/stop', async (req, res) => {
    await svc.stop(id(req), { t: intParam(req.query.t), signal: req.query.signal as string | undefined });
    res.status(204).end();
  });

  r.post('/containers/:id/restart', async (req, res) => {
    await svc.restart(id(req), { t: intParam(req.query.t), signal: req.query.signal as string | undefined });
    res.status(204).end();
  });

  r.post('/containers/:id/kill', async (req, res) => {
    await svc.kill(id(req), req.query.signal as string | undefined);
    res.status(204).end();
  });

  r.post('/containers/:id/pause', async (req, res) => {
    await svc.pause(id(req));
    res.status(204).end();
  });

  r.post('/containers/:id/unpause', async (req, res) => {
    await svc.unpause(id(req));
    res.status(204).end();
  });

  r.get('/containers/:id/changes', async (req, res) => {
    res.json(await svc.changes(id(req)));
  });

  r.get('/containers/:id/export', async (req, res) => {
    const tar = await svc.export(id(req), tmpDir);
    res.status(200).type('application/x-tar');
    res.on('close', () => tar.destroy());
    tar.pipe(res);
  });

  r.post('/containers/:id/update', async (req, res) => {
    res.json(await svc.update(id(req), req.body));
  });

  r.post('/containers/:id/rename', async (req, res) => {
    await svc.rename(id(req), String(req.query.name ?? ''));
    res.status(204).end();
  });

  r.post('/containers/:id/resize', async (req, res) => {
    await svc.resize(id(req), intParam(req.query.h) ?? 0, intParam(req.query.w) ?? 0);
    res.status(200).end();
  });

  r.delete('/containers/:id', async (req, res) => {
    await svc.remove(id(req), { force: boolParam(req.query.force), volumes: boolParam(req.query.v) });
    res.status(204).end();
  });

  r.post('/containers/:id/wait', async (req, res) => {
    const condition = (String(req.query.condition || 'not-running') as WaitCondition) || 'not-running';
    const waiting = svc.wait(id(req), condition);
    // The CLI sends wait before start and reads the body after the container
    // exits: the headers go out now, the body when the wait resolves.
    res.status(200).setHeader('Content-Type', 'application/json');
    res.flushHeaders();
    const { code, error } = await waiting;
    res.end(`${JSON.stringify(error ? { Error: { Message: error }, StatusCode: code } : { StatusCode: code })}\n`);
  });

  r.get('/containers/:id/logs', async (req, res) => {
    const c = svc.get(id(req));
    const stdout = boolParam(req.query.stdout);
    const stderr = boolParam(req.query.stderr);
    if (!stdout && !stderr) throw invalid('Bad parameters: you must choose at least one stream');
    const follow = boolParam(req.query.follow);
    const timestamps = boolParam(req.query.timestamps);
    const tailRaw = String(req.query.tail ?? 'all');
    const tail = tailRaw === 'all' || tailRaw === '' ? undefined : Number(tailRaw);
    const tty = !!c.Config.Tty;
    res.status(200).setHeader('Content-Type', tty ? RAW : MULTIPLEXED);
    res.flushHeaders();
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const done = c.State.Running ? svc.exited(c.ID) : Promise.resolve();
    // Frames are gathered into large writes: one write per line costs more than the parsing.
    const out = new OutputBatch(res);
    for await (const batch of readLogBatches(c.LogPath, {
      follow,
      tail: tail !== undefined && Number.isFinite(tail) ? tail : undefined,
      since: timeParam(req.query.since),
      until: timeParam(req.query.until),
      done,
      signal: abort.signal,
    })) {
      for (const e of batch) {
        if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) continue;
        const stamp = timestamps ? `${e.time} ` : '';
        if (tty) out.push(stamp + e.bytes);
        else out.frame(e.stream === 'stderr' ? STDERR : STDOUT, e.bytes, stamp);
      }
      await out.flush(follow);
      if (abort.signal.aborted) break;
    }
    await out.flush(true);
    res.end();
  });

  r.post('/containers/:id/attach', async (req, res) => {
    const c = svc.get(id(req));
    const wantStdin = boolParam(req.query.stdin);
    const wantStdout = boolParam(req.query.stdout);
    const wantStderr = boolParam(req.query.stderr);
    const logs = boolParam(req.query.logs);
    const stream = boolParam(req.query.stream);
    const tty = !!c.Config.Tty;
    const { socket, head } = hijack(req, res, tty ? RAW : MULTIPLEXED);
    svc.note(c, 'attach');
    const abort = new AbortController();
    socket.on('close', () => abort.abort());
    socket.on('error', () => abort.abort());
    if (wantStdin && c.Config.OpenStdin) pipeStdin(svc, c, socket, head, req.query.detachKeys as string | undefined, abort);
    const done = c.State.Running || stream ? svc.exited(c.ID).then(() => new Promise((r2) => setTimeout(r2, 50))) : Promise.resolve();
    let release!: () => void;
    svc.hold(c.ID, new Promise<void>((r2) => {
      release = r2;
    }));
    socket.on('close', () => release());
    try {
      await streamAttach();
    } finally {
      release();
    }
    // Leaving a container that still runs is a detach, as dockerd reports it.
    const now = svc.list().find((x) => x.ID === c.ID);
    if (now?.State.Running) svc.note(now, 'detach');
    socket.end();

    async function streamAttach(): Promise<void> {
    if (logs || stream) {
      for await (const e of readLogs(c.LogPath, { follow: stream, fromEnd: !logs, done: done as Promise<void>, signal: abort.signal })) {
        if ((e.stream === 'stdout' && !wantStdout) || (e.stream === 'stderr' && !wantStderr)) continue;
        const chunk = tty ? Buffer.from(e.log) : frame(e.stream === 'stderr' ? STDERR : STDOUT, e.log);
        if (!socket.write(chunk)) await new Promise((r2) => socket.once('drain', r2));
        if (abort.signal.aborted) break;
      }
    }
    }
  });

  r.get('/containers/:id/stats', async (req, res) => {
    const c = svc.get(id(req));
    const stream = boolParam(req.query.stream, true);
    const oneShot = boolParam(req.query['one-shot']);
    const take = async () => sample(await svc.metrics(c.ID).catch(() => undefined), c.State.Pid);
    let prev: Sample | undefined;
    let cur = await take();
    res.status(200).setHeader('Content-Type', 'application/json');
    if (!stream) {
      if (!oneShot && c.State.Running) {
        // Docker's non-streamed answer carries a previous sample, for CPU percentages.
        await new Promise((r2) => setTimeout(r2, 1000));
        prev = cur;
        cur = await take();
      }
      res.end(`${JSON.stringify(statsJson(c.ID, c.Name, cur, prev))}\n`);
      return;
    }
    let open = true;
    res.on('close', () => {
      open = false;
    });
    while (open) {
      res.write(`${JSON.stringify(statsJson(c.ID, c.Name, cur, prev))}\n`);
      await new Promise((r2) => setTimeout(r2, 1000));
      if (!svc.get(c.ID).State.Running) break;
      prev = cur;
      cur = await take();
    }
    res.end();
  });

  r.get('/containers/:id/top', async (req, res) => {
    const pids = await svc.top(id(req));
    res.json(await topTable(pids, String(req.query.ps_args ?? '')));
  });

  return r;
}

function pipeStdin(svc: ContainerService, c: ContainerRecord, socket: Socket | import('node:stream').Duplex, head: Buffer, detachKeys: string | undefined, abort: AbortController): void {
  const keys = parseDetachKeys(detachKeys);
  let matched = 0;
  const write = (chunk: Buffer) => {
    const w = svc.stdin(c.ID);
    if (!w) return;
    if (keys.length) {
      for (const b of chunk) {
        if (b === keys[matched]) {
          matched++;
          if (matched === keys.length) {
            abort.abort();
            socket.end();
            return;
          }
        } else matched = 0;
      }
    }
    w.write(chunk);
  };
  if (head.length) write(head);
  socket.on('data', write);
  socket.resume();
  socket.on('end', () => {
    if (c.Config.StdinOnce) svc.closeStdin(c.ID);
  });
}

function parseDetachKeys(s: string | undefined): number[] {
  const spec = s || 'ctrl-p,ctrl-q';
  const out: number[] = [];
  for (const k of spec.split(',')) {
    const m = /^ctrl-(.)$/.exec(k);
    if (m) {
      const ch = m[1]!.toLowerCase();
      const code = ch === '@' ? 0 : ch === '[' ? 27 : ch === '\\' ? 28 : ch === ']' ? 29 : ch === '^' ? 30 : ch === '_' ? 31 : ch.charCodeAt(0) - 96;
      out.push(code);
    } else if (k.length === 1) out.push(k.charCodeAt(0));
    else throw invalid(`Invalid detach keys (${k}) provided`);
  }
  return out;
}

async function topTable(pids: number[], psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs ? psArgs.split(/\s+/) : ['-ef'];
  const out = await new Promise<string>((resolve, reject) =>
    execFile('ps', args, (err, stdout) => (err ? reject(invalid(`ps: ${err.message}`)) : resolve(stdout))),
  );
  const lines = out.trimEnd().split('\n');
  const titles = lines[0]!.trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw invalid(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const l of lines.slice(1)) {
    const fields = l.trim().split(/\s+/);
    const row = [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
    if (pids.includes(Number(row[pidCol]))) processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}
