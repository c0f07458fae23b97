// In-memory stand-ins for berth-shimd, for unit tests of the API and services
// without root: a TaskService whose "processes" interpret a few busybox commands
// (echo, true, false, sleep, sh -c 'exit N') and write json-file log lines as the
// shim would, and an image backend holding images in memory.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { conflict, notFound } from '../errors.js';
import type { RootfsSource, TaskExit, TaskService, TaskStdio } from '../containers/backend.js';
import type { ImageBackend, StoredImage } from '../images/backend.js';

interface FakeProc {
  args: string[];
  logPath: string;
  status: 'CREATED' | 'RUNNING' | 'STOPPED' | 'PAUSED';
  exit?: TaskExit;
  waiters: ((e: TaskExit) => void)[];
  pid: number;
}

export class FakeTasks implements TaskService {
  readonly calls: string[] = [];
  readonly containers = new Map<string, { spec: any; rootfs: RootfsSource }>();
  readonly tasks = new Map<string, FakeProc>();
  private nextPid = 1000;

  private line(p: FakeProc, stream: 'stdout' | 'stderr', text: string) {
    appendFileSync(p.logPath, `${JSON.stringify({ log: text, stream, time: new Date().toISOString() })}\n`);
  }

  private finish(p: FakeProc, code: number) {
    if (p.status === 'STOPPED') return;
    p.status = 'STOPPED';
    p.exit = { exitStatus: code, exitedAt: new Date().toISOString() };
    for (const w of p.waiters.splice(0)) w(p.exit);
  }

  async getSpec(id: string) {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    return c.spec;
  }

  async createContainer(id: string, spec: object, rootfs: RootfsSource) {
    this.calls.push(`container.create ${id}`);
    if (this.containers.has(id)) throw conflict(`container ${id} already exists`);
    this.containers.set(id, { spec, rootfs });
  }
  async updateSpec(id: string, spec: object) {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    c.spec = spec;
  }
  async deleteContainer(id: string) {
    this.calls.push(`container.delete ${id}`);
    if (this.tasks.has(id)) throw conflict(`container ${id} has a task`);
    this.containers.delete(id);
  }
  async createTask(id: string, _stdio: TaskStdio, log: { path: string }) {
    const c = this.containers.get(id);
    if (!c) throw notFound(`container ${id} not found`);
    if (this.tasks.has(id)) throw conflict(`task ${id} already exists`);
    const pid = this.nextPid++;
    this.tasks.set(id, { args: c.spec.process.args, logPath: log.path, status: 'CREATED', waiters: [], pid });
    this.calls.push(`task.create ${id}`);
    return pid;
  }
  async start(id: string) {
    const p = this.tasks.get(id);
    if (!p) throw notFound(`task ${id} not found`);
    p.status = 'RUNNING';
    this.calls.push(`task.start ${id}`);
    const [cmd, ...rest] = p.args;
    setTimeout(() => {
      if (cmd === 'echo') {
        this.line(p, 'stdout', `${rest.join(' ')}\n`);
        this.finish(p, 0);
      } else if (cmd === 'true') this.finish(p, 0);
      else if (cmd === 'false') this.finish(p, 1);
      else if (cmd === 'sh' && rest[0] === '-c') {
        const script = rest[1] ?? '';
        for (const m of script.matchAll(/echo ([^;>]*?)( >&2)?(;|$)/g)) this.line(p, m[2] ? 'stderr' : 'stdout', `${m[1]}\n`);
        const exit = /exit ([0-9]+)/.exec(script);
        if (!/sleep/.test(script)) this.finish(p, exit ? Number(exit[1]) : 0);
      }
      // sleep and anything else runs until killed
    }, 5);
    return p.pid;
  }
  async kill(id: string, signal: number) {
    const p = this.tasks.get(id);
    if (!p) throw notFound(`task ${id} not found`);
    this.calls.push(`task.kill ${id} ${signal}`);
    setTimeout(() => this.finish(p, 128 + signal), 5);
  }
  wait(id: string): Promise<TaskExit> {
    const p = this.tasks.get(id);
    if (!p) return Promise.reject(notFound(`task ${id} not found`));
    if (p.exit) return Promise.resolve(p.exit);
    return new Promise((r) => p.waiters.push(r));
  }
  async deleteTask(id: string) {
    const p = this.tasks.get(id);
    if (!p) return undefined;
    if (p.status === 'RUNNING') throw conflict(`task ${id} is running`);
    this.tasks.delete(id);
    this.calls.push(`task.delete ${id}`);
    return p.exit;
  }
  async state(id: string) {
    const p = this.tasks.get(id);
    return p ? { pid: p.pid, status: p.status, exitStatus: p.exit?.exitStatus ?? 0 } : undefined;
  }
  async exec() {
    throw conflict('exec is not simulated');
  }
  async deleteProcess() {
    return undefined;
  }
  async resize() {}
  async closeStdin() {}
  async pause(id: string) {
    const p = this.tasks.get(id);
    if (p) p.status = 'PAUSED';
  }
  async resume(id: string) {
    const p = this.tasks.get(id);
    if (p) p.status = 'RUNNING';
  }
  async pids(id: string) {
    const p = this.tasks.get(id);
    return p ? [p.pid] : [];
  }
  async metrics() {
    return undefined;
  }
  async update() {}
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class FakeImages implements ImageBackend {
  readonly blobs = new Map<string, Buffer>();
  readonly images = new Map<string, StoredImage>();
  readonly snapshots = new Set<string>();

  /** Adds an image with the given run config under `name` (fully qualified). */
  add(name: string, config: object): string {
    const cfg = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', created: '2026-01-01T00:00:00Z', config, rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const cfgDigest = sha(cfg);
    this.blobs.set(cfgDigest, cfg);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgDigest, size: cfg.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha('layer'), size: 1234 }],
      }),
    );
    const md = sha(manifest);
    this.blobs.set(md, manifest);
    this.images.set(name, {
      name,
      target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length },
      createdAt: new Date().toISOString(),
      labels: {},
    });
    return cfgDigest;
  }

  async list() {
    return [...this.images.values()];
  }
  async get(name: string) {
    return this.images.get(name);
  }
  async put(image: StoredImage) {
    this.images.set(image.name, image);
  }
  async delete(name: string) {
    if (!this.images.delete(name)) throw notFound(`image ${name} not found`);
  }
  async readJson(digest: string) {
    const b = this.blobs.get(digest);
    if (!b) throw notFound(`content ${digest} not found`);
    return JSON.parse(b.toString());
  }
  async importArchive(tar: Readable): Promise<StoredImage[]> {
    tar.resume();
    return [];
  }
  exportArchive(): Readable {
    return Readable.from([Buffer.alloc(1024)]);
  }
  async prepareSnapshot(key: string) {
    if (this.snapshots.has(key)) throw conflict(`snapshot ${key} already exists`);
    this.snapshots.add(key);
    return { snapshotter: 'overlayfs', snapshotKey: key };
  }
  async snapshotMounts(key: string) {
    if (!this.snapshots.has(key)) throw notFound(`snapshot ${key} not found`);
    return [{ type: 'bind', source: `/fake/${key}`, options: ['rbind'] }];
  }
  async removeSnapshot(key: string) {
    this.snapshots.delete(key);
  }
  async usage() {
    return 1234;
  }
}
