// TaskService over berth-shimd's Containers and Tasks services.
import type { RootfsSource, TaskExit, TaskService, TaskStdio } from '../containers/backend.js';
import { isNotFound, type ShimdClient } from './client.js';

export class ShimdTasks implements TaskService {
  constructor(
    private readonly shimd: ShimdClient,
    private readonly runtime: { name?: string; binary?: string } = {},
  ) {}

  async createContainer(id: string, spec: object, rootfs: RootfsSource, labels: Record<string, string>, image: string) {
    await this.shimd.call('Containers', 'Create', {
      container: {
        id,
        labels,
        image,
        runtime: { name: this.runtime.name ?? '', binary: this.runtime.binary ?? '', options: '' },
        spec: JSON.stringify(spec),
        snapshotter: rootfs.snapshotter ?? '',
        snapshot_key: rootfs.snapshotKey ?? '',
        rootfs_mounts: rootfs.mounts ?? [],
      },
    });
  }

  async updateSpec(id: string, spec: object) {
    await this.shimd.call('Containers', 'Update', { container: { id, spec: JSON.stringify(spec) }, update_mask: ['spec'] });
  }

  async getSpec(id: string) {
    const res = await this.shimd.call<{ container: { spec: string } }>('Containers', 'Get', { id });
    return JSON.parse(res.container.spec);
  }

  async deleteContainer(id: string) {
    try {
      await this.shimd.call('Containers', 'Delete', { id });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async createTask(id: string, stdio: TaskStdio, log: { path: string; options: Record<string, string> }, rootfs: RootfsSource['mounts'] = []) {
    const res = await this.shimd.call<{ pid: number }>('Tasks', 'Create', {
      container_id: id,
      rootfs: rootfs ?? [],
      stdin: stdio.stdin ?? '',
      stdout: stdio.stdout ?? '',
      stderr: stdio.stderr ?? '',
      terminal: stdio.terminal,
      log_path: log.path,
      log_format: 'json-file',
      log_options: log.options,
    });
    return res.pid;
  }

  async start(id: string, execId = '') {
    const res = await this.shimd.call<{ pid: number }>('Tasks', 'Start', { container_id: id, exec_id: execId });
    return res.pid;
  }

  async kill(id: string, signal: number, execId = '', all = false) {
    await this.shimd.call('Tasks', 'Kill', { container_id: id, exec_id: execId, signal, all });
  }

  async wait(id: string, execId = ''): Promise<TaskExit> {
    const res = await this.shimd.call<{ exit_status: number; exited_at: string }>('Tasks', 'Wait', {
      container_id: id,
      exec_id: execId,
    });
    return { exitStatus: res.exit_status, exitedAt: res.exited_at };
  }

  async deleteTask(id: string): Promise<TaskExit | undefined> {
    try {
      const res = await this.shimd.call<{ exit_status: number; exited_at: string }>('Tasks', 'Delete', { container_id: id });
      return { exitStatus: res.exit_status, exitedAt: res.exited_at };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async state(id: string) {
    try {
      const res = await this.shimd.call<{ process: { pid: number; status: string; exit_status: number } }>('Tasks', 'Get', {
        container_id: id,
        exec_id: '',
      });
      return { pid: res.process.pid, status: res.process.status, exitStatus: res.process.exit_status };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async exec(id: string, execId: string, process: object, stdio: TaskStdio) {
    await this.shimd.call('Tasks', 'Exec', {
      container_id: id,
      exec_id: execId,
      stdin: stdio.stdin ?? '',
      stdout: stdio.stdout ?? '',
      stderr: stdio.stderr ?? '',
      terminal: stdio.terminal,
      spec: JSON.stringify(process),
    });
  }

  async deleteProcess(id: string, execId: string): Promise<TaskExit | undefined> {
    try {
      const res = await this.shimd.call<{ exit_status: number; exited_at: string }>('Tasks', 'DeleteProcess', {
        container_id: id,
        exec_id: execId,
      });
      return { exitStatus: res.exit_status, exitedAt: res.exited_at };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async resize(id: string, execId: string | undefined, width: number, height: number) {
    await this.shimd.call('Tasks', 'ResizePty', { container_id: id, exec_id: execId ?? '', width, height });
  }

  async closeStdin(id: string, execId = '') {
    await this.shimd.call('Tasks', 'CloseIO', { container_id: id, exec_id: execId, stdin: true });
  }

  async pause(id: string) {
    await this.shimd.call('Tasks', 'Pause', { container_id: id });
  }

  async resume(id: string) {
    await this.shimd.call('Tasks', 'Resume', { container_id: id });
  }

  async pids(id: string) {
    const res = await this.shimd.call<{ processes: { pid: number }[] }>('Tasks', 'ListPids', { container_id: id });
    return res.processes.map((p) => p.pid);
  }

  async metrics(id: string) {
    const res = await this.shimd.call<{ metrics: any[] }>('Tasks', 'Metrics', { container_ids: [id] });
    return res.metrics[0];
  }

  async update(id: string, resources: object) {
    await this.shimd.call('Tasks', 'Update', { container_id: id, resources: JSON.stringify(resources) });
  }
}
