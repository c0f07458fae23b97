// The local terminal during run -it, attach and exec -it: raw mode with a restore
// on every way out, window size changes forwarded, detach keys recognised, and
// signals proxied to the container when there is no TTY.

/** Parses docker's --detach-keys ("ctrl-p,ctrl-q", "ctrl-a,x") into byte values. */
export function parseDetachKeys(spec: string): number[] {
  const keys: number[] = [];
  for (const raw of spec.split(',')) {
    const k = raw.trim();
    if (k.length === 1) {
      keys.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/i.exec(k);
    if (!m) throw new Error(`Unknown character: '${k}'`);
    const c = m[1];
    if (/[a-z]/i.test(c)) keys.push(c.toLowerCase().charCodeAt(0) - 96);
    else if (c === '@') keys.push(0);
    else if (c === '[') keys.push(27);
    else if (c === '\\') keys.push(28);
    else if (c === ']') keys.push(29);
    else if (c === '^') keys.push(30);
    else if (c === '_') keys.push(31);
    else throw new Error(`Unknown character: '${k}'`);
  }
  if (keys.length === 0) throw new Error('empty detach key sequence');
  return keys;
}

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/**
 * Watches input for the detach sequence. Bytes that begin the sequence are held
 * back until it is clear whether the sequence follows; then they are released.
 */
export class DetachScanner {
  private held: number[] = [];

  constructor(private readonly keys: number[]) {}

  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held.length]) {
        this.held.push(b);
        if (this.held.length === this.keys.length) {
          this.held = [];
          return { forward: Buffer.from(out), detached: true };
        }
        continue;
      }
      if (this.held.length) {
        out.push(...this.held);
        this.held = [];
        if (b === this.keys[0]) {
          this.held.push(b);
          continue;
        }
      }
      out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}

type Restorer = () => void;
const restorers = new Set<Restorer>();
let hooked = false;

function restoreAll(): void {
  for (const r of restorers) {
    try {
      r();
    } catch {}
  }
  restorers.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', restoreAll);
  for (const sig of ['SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) {
    const onSignal = () => {
      restoreAll();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
  process.on('uncaughtException', (e) => {
    restoreAll();
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}

/** Puts stdin in raw mode; the returned function (also run at any exit) restores it. */
export function makeRaw(stdin: NodeJS.ReadStream = process.stdin): Restorer {
  if (!stdin.isTTY) return () => {};
  const was = stdin.isRaw;
  stdin.setRawMode(true);
  const restore = () => {
    restorers.delete(restore);
    if (stdin.isTTY) stdin.setRawMode(was);
  };
  restorers.add(restore);
  hookExit();
  return restore;
}

/** Calls `onResize(rows, cols)` now and on every SIGWINCH; returns the unsubscribe. */
export function watchSize(out: NodeJS.WriteStream, onResize: (rows: number, cols: number) => void): () => void {
  if (!out.isTTY) return () => {};
  const fire = () => {
    const [cols, rows] = out.getWindowSize();
    onResize(rows, cols);
  };
  fire();
  // Node raises 'resize' on a TTY stdout when the process gets SIGWINCH.
  out.on('resize', fire);
  return () => out.off('resize', fire);
}

/** Signals docker forwards to a non-TTY container (all but those that concern the terminal or children). */
const PROXIED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const;

export function proxySignals(send: (signal: string) => void): () => void {
  const handlers = PROXIED.map((sig) => {
    const h = () => send(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}
