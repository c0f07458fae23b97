// /containers/{id}/exec and /exec/*: exec create, start (hijacked), resize, inspect.
import { Router } from 'express';
import type { ContainerService } from '../containers/service.js';
import type { ExecService } from '../exec/service.js';
import { intParam } from './format.js';
import { frame, hijack, MULTIPLEXED, RAW, STDERR, STDOUT } from './streams.js';

export function execRouter(execs: ExecService, containers: ContainerService): Router {
  const r = Router();

  r.post('/containers/:id/exec', (req, res) => {
    const id = execs.create(String(req.params.id), req.body);
    res.status(201).json({ Id: id });
  });

  r.post('/exec/:id/start', async (req, res) => {
    const body = (req.body ?? {}) as { Detach?: boolean; Tty?: boolean };
    const e = execs.get(String(req.params.id));
    const tty = body.Tty ?? !!e.config.Tty;
    if (body.Detach) {
      await execs.start(e.id, { tty, detach: true });
      res.status(200).end();
      return;
    }
    let streams: Awaited<ReturnType<ExecService['start']>>;
    try {
      streams = await execs.start(e.id, { tty });
    } catch (err) {
      // As dockerd: once the client asked to attach, a start failure (a missing
      // user, a missing command) is written to its stdout and the exit code is 126.
      const { socket: s } = hijack(req, res, tty ? RAW : MULTIPLEXED);
      const msg = `${(err as Error).message}\r\n`;
      s.end(tty ? Buffer.from(msg) : frame(STDOUT, msg));
      return;
    }
    const { socket, head } = hijack(req, res, tty ? RAW : MULTIPLEXED);
    if (streams.stdin) {
      if (head.length) streams.stdin.write(head);
      socket.on('data', (d: Buffer) => streams.stdin?.write(d));
      socket.resume();
      socket.on('end', () => {
        const w = streams.stdin;
        streams.stdin = undefined;
        w?.end(() => {
          w.destroy();
          void execs.closeStdin(e.id);
        });
      });
    }
    const pump = (s: import('node:net').Socket | undefined, kind: number) =>
      new Promise<void>((resolve) => {
        if (!s) return resolve();
        s.on('data', (d: Buffer) => socket.write(tty ? d : frame(kind, d)));
        s.on('end', () => resolve());
        s.on('close', () => resolve());
        s.on('error', () => resolve());
      });
    const drained = Promise.all([pump(streams.stdout, STDOUT), pump(streams.stderr, STDERR)]);
    socket.on('close', () => {
      streams.stdout?.destroy();
      streams.stderr?.destroy();
    });
    await streams.exited;
    // The shim closes its ends when the process is gone; bound the wait anyway.
    await Promise.race([drained, new Promise((r2) => setTimeout(r2, 2000))]);
    streams.stdout?.destroy();
    streams.stderr?.destroy();
    socket.end();
  });

  r.post('/exec/:id/resize', async (req, res) => {
    await execs.resize(String(req.params.id), intParam(req.query.h) ?? 0, intParam(req.query.w) ?? 0);
    res.status(200).end();
  });

  r.get('/exec/:id/json', (req, res) => {
    const e = execs.get(String(req.params.id));
    const c = containers.get(e.containerId);
    res.json({
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      ExitCode: e.exitCode,
      ID: e.id,
      OpenStderr: !!e.config.AttachStderr,
      OpenStdin: !!e.config.AttachStdin,
      OpenStdout: !!e.config.AttachStdout,
      ProcessConfig: {
        arguments: (e.config.Cmd ?? []).slice(1),
        entrypoint: e.config.Cmd?.[0] ?? '',
        privileged: !!e.config.Privileged,
        tty: !!e.config.Tty,
        user: e.config.User ?? c.Config.User ?? '',
      },
      Running: e.running,
      Pid: e.pid,
    });
  });
  return r;
}
