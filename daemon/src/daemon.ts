// Wires berthd together: services over berth-shimd, the API routers over them, and
// the listeners.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DaemonConfig } from './config.js';
import { buildApp, listen, type Listener } from './server.js';
import { containersRouter, statusText } from './api/containers.js';
import { execRouter } from './api/exec.js';
import { imagesRouter } from './api/images.js';
import { systemRouter } from './api/system.js';
import { ContainerService } from './containers/service.js';
import { ContainerStore } from './containers/store.js';
import { ExecService } from './exec/service.js';
import type { ImageBackend } from './images/backend.js';
import type { TaskService } from './containers/backend.js';
import { ImageService } from './images/service.js';
import { familiarName } from './images/reference.js';
import { UnavailableImages } from './images/unavailable.js';
import { CniNetworks } from './network/cni.js';
import { BasicNetworks } from './network/hooks.js';
import { NetworkCatalog } from './network/catalog.js';
import { networksRouter } from './api/networks.js';
import { NetworkService } from './network/service.js';
import { ShimdClient } from './shimd/client.js';
import { shimdImages } from './shimd/images.js';
import { ShimdTasks } from './shimd/tasks.js';
import { SystemService } from './system/info.js';
import { volumesRouter } from './api/volumes.js';
import { VolumeService } from './volumes/service.js';
import { eventsRouter } from './api/events.js';
import { archiveRouter } from './api/archive.js';
import { authRouter } from './api/auth.js';
import { registryLogin } from './registry/login.js';
import { EventBus } from './events/bus.js';
import { HealthMonitor } from './health/monitor.js';
import type { ContainerRecord } from './containers/model.js';

export interface Daemon {
  close(): Promise<void>;
}

/** create/destroy/prune events of volumes, observed around the volume service's calls. */
function observeVolumes(volumes: VolumeService, bus: EventBus): void {
  const create = volumes.create.bind(volumes);
  volumes.create = (req, anonymous) => {
    const existed = req.Name ? volumes.find(req.Name) : undefined;
    const v = create(req, anonymous);
    if (!existed) bus.publish('volume', 'create', v.Name, { driver: v.Driver ?? 'local' });
    return v;
  };
  const remove = volumes.remove.bind(volumes);
  volumes.remove = (name, force) => {
    const existed = volumes.find(name);
    remove(name, force);
    if (existed) bus.publish('volume', 'destroy', name, { driver: 'local' });
  };
  const prune = volumes.prune.bind(volumes);
  volumes.prune = (...args) => {
    // Each removal goes through remove() above, which reports its destroy.
    const out = prune(...args);
    bus.publish('volume', 'prune', '', { reclaimed: String(out.SpaceReclaimed) });
    return out;
  };
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

function daemonId(dataRoot: string): string {
  const file = join(dataRoot, 'engine-id');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const id = randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
    writeFileSync(file, `${id}\n`);
    return id;
  }
}

/** The image backend: berth-shimd's image services when its proto defines them. */
function imageBackend(shimd: ShimdClient, tmpDir: string): ImageBackend {
  return shimdImages(shimd, tmpDir) ?? new UnavailableImages();
}

export interface Assembled {
  app: ReturnType<typeof buildApp>;
  containers: ContainerService;
  images: ImageService;
  store: ContainerStore;
  health: HealthMonitor;
  /** User-defined networks' bridges and isolation rules put back after a restart. */
  networksReady: Promise<void>;
}

/** Builds the services and the app over a task service and an image backend. */
export function assemble(config: DaemonConfig, tasks: TaskService, backend: ImageBackend): Assembled {
  mkdirSync(config.dataRoot, { recursive: true, mode: 0o710 });
  const images = new ImageService(backend);
  const store = new ContainerStore(join(config.dataRoot, 'containers'));
  const volumes = new VolumeService(join(config.dataRoot, 'volumes'));
  const network = config.cniBinDir
    ? new CniNetworks({ binDir: config.cniBinDir, stateDir: join(config.dataRoot, 'network'), bridge: config.bridge, subnet: config.bridgeSubnet })
    : new BasicNetworks();
  const cni = network instanceof CniNetworks ? network : undefined;
  const bus = new EventBus();
  const publishContainer = (action: string, c: ContainerRecord, extra: Record<string, string> = {}) =>
    bus.publish('container', action, c.ID, { image: c.Config.Image ?? '', name: c.Name.slice(1), ...(c.Config.Labels ?? {}), ...extra });
  // The volume and network side of a container's start and exit, as dockerd reports it.
  const mountEvents = (what: 'mount' | 'unmount', c: ContainerRecord) => {
    for (const m of c.Mounts) {
      if (m.Type !== 'volume' || !m.Name) continue;
      const attrs: Record<string, string> = { container: c.ID, driver: m.Driver ?? 'local' };
      if (what === 'mount') Object.assign(attrs, { destination: m.Destination, propagation: m.Propagation, 'read/write': String(m.RW) });
      bus.publish('volume', what, m.Name, attrs);
    }
    const mode = !c.HostConfig.NetworkMode || c.HostConfig.NetworkMode === 'default' ? 'bridge' : c.HostConfig.NetworkMode;
    if (mode !== 'none' && !mode.startsWith('container:')) {
      bus.publish('network', what === 'mount' ? 'connect' : 'disconnect', c.NetworkSettings?.NetworkID ?? mode, { container: c.ID, name: mode, type: mode === 'host' ? 'host' : 'bridge' });
    }
  };
  observeVolumes(volumes, bus);
  let health: HealthMonitor | undefined;
  let execs: ExecService | undefined;
  const containers = new ContainerService(store, tasks, images, network, volumes, (_type, action, c, extra = {}) => {
    publishContainer(action, c, extra);
    if (action === 'start') {
      health?.start(c);
      mountEvents('mount', c);
    } else if (action === 'die') {
      health?.stop(c.ID);
      mountEvents('unmount', c);
    }
    else if (action === 'destroy') {
      health?.stop(c.ID);
      execs?.forget(c.ID);
    }
  });
  images.events = (action, id, name, extra = {}) => bus.publish('image', action, id, { ...(name ? { name } : {}), ...extra });
  execs = new ExecService(containers, tasks, join(config.dataRoot, 'exec'));
  execs.events = (action, id, extra) => {
    const c = store.find(id);
    if (c) publishContainer(action, c, extra);
  };
  const execService = execs;
  containers.beforeKill = (c) => health?.halt(c.ID) ?? Promise.resolve();
  health = new HealthMonitor({ find: (id) => store.find(id), save: (c) => store.save(c), runner: execs, emit: (action, c) => publishContainer(action, c) });
  images.inUse = (imageId) => store.all().find((c) => c.Image === imageId)?.ID;
  const system = new SystemService(
    { id: daemonId(config.dataRoot), dataRoot: config.dataRoot, runtime: config.runtime, liveRestore: config.liveRestore },
    async () => {
      const all = store.all();
      const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
      const paused = all.filter((c) => c.State.Paused).length;
      const imgs = await images.all().catch(() => []);
      return { containers: all.length, running, paused, stopped: all.length - running - paused, images: imgs.length };
    },
  );
  const df = async () => {
    const imgs = await images.all();
    const all = store.all();
    const imageRows = await Promise.all(
      imgs.map(async (s) => ({
        Id: s.id,
        ParentId: '',
        RepoTags: s.names.map((n) => familiarName(n.name)),
        RepoDigests: [],
        Created: Math.floor(Date.parse(s.created) / 1000) || 0,
        Size: s.names[0] ? await images.usage(s.names[0].name).catch(() => s.size) : s.size,
        SharedSize: 0,
        Labels: s.config.config?.Labels ?? {},
        Containers: all.filter((c) => c.Image === s.id).length,
      })),
    );
    return {
      LayersSize: imageRows.reduce((n, i) => n + i.Size, 0),
      Images: imageRows,
      Containers: await Promise.all(all.map(async (c) => {
        const rw = await containers.sizeRw(c);
        const img = imageRows.find((i) => i.Id === c.Image);
        return {
        Id: c.ID,
        Names: [c.Name],
        Image: c.Config.Image,
        ImageID: c.Image,
        Command: [c.Path, ...c.Args].join(' '),
        Created: Math.floor(Date.parse(c.Created) / 1000),
        State: c.State.Status,
        Status: statusText(c),
        SizeRw: rw,
        SizeRootFs: rw + (img?.Size ?? 0),
        Labels: c.Config.Labels ?? {},
        Mounts: c.Mounts,
      };
      })),
      Volumes: volumes.list().map((v) => ({ ...v, UsageData: { Size: volumes.size(v.Name), RefCount: volumes.users(v.Name).length } })),
      BuildCache: [],
    };
  };
  const app = buildApp([
    systemRouter(system, df),
    containersRouter(containers, (id) => execService.idsOf(id), mkdirp(join(config.dataRoot, 'tmp')), async (c) => {
      const name = c.ImageRef.startsWith('sha256:') ? undefined : c.ImageRef;
      return name ? images.usage(name).catch(() => 0) : 0;
    }),
    execRouter(execService, containers),
    imagesRouter(images, (imageId) => store.all().filter((c) => c.Image === imageId).length, join(config.dataRoot, 'tmp')),
    volumesRouter(volumes),
    networksRouter(
      new NetworkCatalog(join(config.dataRoot, 'network'), cni?.bridgeInfo(), () => store.all(), cni?.users),
      new NetworkService(cni, store, (action, n, extra = {}) => bus.publish('network', action, n.Id, { name: n.Name, ...extra })),
    ),
    eventsRouter(bus),
    archiveRouter(containers),
    authRouter((auth) => registryLogin(auth)),
  ]);
  return { app, containers, images, store, health, networksReady: cni ? cni.users.restore() : Promise.resolve() };
}

export async function serve(app: Assembled['app'], config: DaemonConfig): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const host of config.hosts) listeners.push(await listen(app, host, config.tls, config.insecureTcp));
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }
  return listeners;
}

export async function startDaemon(config: DaemonConfig): Promise<Daemon> {
  const shimd = new ShimdClient(config.shimdAddress, config.namespace);
  const { app, containers, store, health, networksReady } = assemble(config, new ShimdTasks(shimd), imageBackend(shimd, join(config.dataRoot, 'tmp')));
  await networksReady;
  // Reconcile with shimd before serving, so the first `docker ps` is right.
  try {
    await shimd.ready(5000);
    await shimd.ensureNamespace();
    await containers.restore();
    // Probes start over for the runs found alive, as dockerd's restore does.
    for (const c of store.all()) if (c.State.Running) health.start(c);
  } catch (e) {
    process.stderr.write(`berthd: ${(e as Error).message}; containers are unavailable until berth-shimd answers\n`);
    store.load();
  }
  let closed = false;
  let unsubscribe = () => {};
  // OOM kills come only as shimd events; the stream is taken up again after shimd restarts.
  const followOom = () => {
    if (closed) return;
    unsubscribe = shimd.subscribe(
      ['/tasks/oom'],
      (e) => {
        const id = (e.event as { container_id?: string })?.container_id;
        if (id) containers.oomKilled(id);
      },
      () => {
        if (!closed) setTimeout(followOom, 1000).unref();
      },
    );
  };
  followOom();
  let listeners: Listener[];
  try {
    listeners = await serve(app, config);
  } catch (e) {
    closed = true;
    unsubscribe();
    shimd.close();
    throw e;
  }
  return {
    async close() {
      closed = true;
      unsubscribe();
      health.stopAll();
      await Promise.all(listeners.map((l) => l.close()));
      shimd.close();
    },
  };
}
