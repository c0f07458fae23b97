// The container's terminal: a pty from the container's own devpts, its master sent
// over --console-socket with SCM_RIGHTS exactly as runc does (one message whose body
// is the master's name), the slave made the controlling terminal and stdio.
import { existsSync } from 'node:fs';
import type { ConsoleSize } from 'oci-spec-types';
import { MS, O, type Sys } from '../sys/index.js';

export function setupConsole(sys: Sys, socketFd: number, size?: ConsoleSize, bindConsole = true): void {
  const { master, slavePath } = sys.openPty();
  if (size) sys.setWinsize(master, size.height, size.width);
  const slave = sys.open(slavePath, O.RDWR | O.NOCTTY | O.CLOEXEC);
  if (bindConsole && existsSync('/dev/console')) sys.mount(slavePath, '/dev/console', 'bind', MS.BIND, null);
  sys.sendFd(socketFd, '/dev/ptmx', master);
  sys.close(master);
  sys.close(socketFd);
  sys.setsid();
  sys.setControllingTerminal(slave);
  for (let fd = 0; fd < 3; fd++) sys.dup2(slave, fd);
  if (slave > 2) sys.close(slave);
}
