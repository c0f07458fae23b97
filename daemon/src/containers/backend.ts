// The narrow interfaces the container service needs from below: tasks (berth-shimd's
// Containers + Tasks services) and images (resolution and rootfs snapshots).
import type { ImageRunConfig } from './model.js';

export interface TaskExit {
  exitStatus: number;
  exitedAt: string;
}

export interface TaskStdio {
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal: boolean;
}

export interface RootfsSource {
  snapshotter?: string;
  snapshotKey?: string;
  mounts?: { type: string; source: string; target?: string; options: string[] }[];
}

export interface TaskService {
  createContainer(id: string, spec: object, rootfs: RootfsSource, labels: Record<string, string>, image: string): Promise<void>;
  updateSpec(id: string, spec: object): Promise<void>;
  /** The container's stored OCI spec. */
  getSpec(id: string): Promise<any>;
  deleteContainer(id: string): Promise<void>;
  /** Creates the init process (not started); returns its host pid. */
  createTask(
    id: string,
    stdio: TaskStdio,
    log: { path: string; options: Record<string, string> },
    rootfs: RootfsSource['mounts'],
  ): Promise<number>;
  start(id: string, execId?: string): Promise<number>;
  kill(id: string, signal: number, execId?: string, all?: boolean): Promise<void>;
  /** Resolves when the process exits (at once if it has). */
  wait(id: string, execId?: string): Promise<TaskExit>;
  deleteTask(id: string): Promise<TaskExit | undefined>;
  /** The init's status, or undefined when there is no task. */
  state(id: string): Promise<{ pid: number; status: string; exitStatus: number } | undefined>;
  exec(id: string, execId: string, process: object, stdio: TaskStdio): Promise<void>;
  deleteProcess(id: string, execId: string): Promise<TaskExit | undefined>;
  resize(id: string, execId: string | undefined, width: number, height: number): Promise<void>;
  closeStdin(id: string, execId?: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  pids(id: string): Promise<number[]>;
  metrics(id: string): Promise<any>;
  update(id: string, resources: object): Promise<void>;
}

export interface ResolvedImage {
  /** sha256:<config digest> */
  id: string;
  /** Fully qualified reference it was found by (or the ID). */
  ref: string;
  config: ImageRunConfig;
}

export interface ImageProvider {
  /** Throws not-found with Docker's "No such image: …" message. */
  resolve(ref: string): Promise<ResolvedImage>;
  /** Prepares a writable snapshot over the image's layers for a container's rootfs. */
  prepareRootfs(key: string, imageId: string): Promise<RootfsSource>;
  removeRootfs(key: string): Promise<void>;
  /** The mounts of a container's rootfs snapshot, passed to task create. */
  rootfsMounts(key: string): Promise<NonNullable<RootfsSource['mounts']>>;
}
