// Wires berthd together: services over berth-shimd, the API routers over them, and
// the listeners.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { DaemonConfig } from './config.js';
import { buildApp, listen, type Listener } from './server.js';
import { containersRouter } from './api/containers.js';
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
import { ShimdClient } from './shimd/client.js';
import { shimdImages } from './shimd/images.js';
import { ShimdTasks } from './shimd/tasks.js';
import { SystemService } from './system/info.js';
import { volumesRouter } from './api/volumes.js';
import { VolumeService } from './volumes/service.js';
import { eventsRouter } from './api/events.js';
import { archiveRouter } from './api/archive.js';
import { EventBus } from './events/bus.js';

export interface Daemon {
  close(): Promise<void>;
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
  const bus = new EventBus();
  const containers = new ContainerService(store, tasks, images, network, volumes, (type, action, c, extra = {}) =>
    bus.publish(type, action, c.ID, { image: c.Config.Image ?? '', name: c.Name.slice(1), ...(c.Config.Labels ?? {}), ...extra }),
  );
  images.events = (action, id, name) => bus.publish('image', action, id, name ? { name } : {});
  const execs = new ExecService(containers, tasks, join(config.dataRoot, 'exec'));
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
      Containers: all.map((c) => ({
        Id: c.ID,
        Names: [c.Name],
        Image: c.Config.Image,
        ImageID: c.Image,
        Command: [c.Path, ...c.Args].join(' '),
        Created: Math.floor(Date.parse(c.Created) / 1000),
        State: c.State.Status,
        Status: c.State.Status,
        SizeRw: 0,
        SizeRootFs: 0,
        Labels: c.Config.Labels ?? {},
        Mounts: c.Mounts,
      })),
      Volumes: volumes.list().map((v) => ({ ...v, UsageData: { Size: volumes.size(v.Name), RefCount: volumes.users(v.Name).length } })),
      BuildCache: [],
    };
  };
  const app = buildApp([
    systemRouter(system, df),
    containersRouter(containers, (id) => execs.idsOf(id)),
    execRouter(execs, containers),
    imagesRouter(images, (imageId) => store.all().filter((c) => c.Image === imageId).length),
    volumesRouter(volumes),
    eventsRouter(bus),
    archiveRouter(containers),
  ]);
  return { app, containers, images, store };
}

export async function serve(app: Assembled['app'], config: DaemonConfig): Promise<Listener[]> {
  const listeners: Listener[] = [];
  try {
    for (const host of config.hosts) listeners.push(await listen(app, host, config.tls));
  } catch (e) {
    await Promise.all(listeners.map((l) => l.close()));
    throw e;
  }
  return listeners;
}

export async function startDaemon(config: DaemonConfig): Promise<Daemon> {
  const shimd = new ShimdClient(config.shimdAddress, config.namespace);
  const { app, containers, store } = assemble(config, new ShimdTasks(shimd), imageBackend(shimd, join(config.dataRoot, 'tmp')));
  // Reconcile with shimd before serving, so the first `docker ps` is right.
  try {
    await shimd.ready(5000);
    await shimd.ensureNamespace();
    await containers.restore();
  } catch (e) {
    process.stderr.write(`berthd: ${(e as Error).message}; containers are unavailable until berth-shimd answers\n`);
    store.load();
  }
  let listeners: Listener[];
  try {
    listeners = await serve(app, config);
  } catch (e) {
    shimd.close();
    throw e;
  }
  return {
    async close() {
      await Promise.all(listeners.map((l) => l.close()));
      shimd.close();
    },
  };
}
