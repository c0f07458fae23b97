// Published ports: HostConfig.PortBindings (+ PublishAllPorts over ExposedPorts) →
// the portmap plugin's runtimeConfig.portMappings, and back to the Ports map that
// inspect and ps show. An empty host port takes a free ephemeral port, as dockerd's
// port allocator does.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { DaemonError, invalid } from '../errors.js';
import type { PortBinding } from '../containers/model.js';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

type Bindings = Record<string, PortBinding[] | null> | null | undefined;

interface Range {
  from: number;
  to: number;
}

function range(spec: string, what: string): Range {
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(spec);
  const from = Number(m?.[1]);
  const to = m?.[2] ? Number(m[2]) : from;
  if (!m || from < 1 || to > 65535 || to < from) throw invalid(`invalid ${what}: "${spec}"`);
  return { from, to };
}

/** "80/tcp" → its container port range and protocol; Docker's 400 message when it is not one. */
export function parsePortKey(key: string): { ports: Range; protocol: string } {
  const [port = '', protocol = 'tcp', ...rest] = key.split('/');
  if (rest.length || !['tcp', 'udp', 'sctp'].includes(protocol)) throw invalid(`invalid port specification: "${key}"`);
  try {
    return { ports: range(port, 'containerPort'), protocol };
  } catch {
    throw invalid(`invalid port specification: "${port}"`);
  }
}

/** Checks every binding; throws the 400 Docker gives for a malformed one. */
export function validateBindings(bindings: Bindings): void {
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { ports } = parsePortKey(key);
    for (const b of list ?? []) {
      if (b.HostIp && !/^[0-9.]+$|:/.test(b.HostIp)) throw invalid(`invalid IP address: ${b.HostIp}`);
      if (!b.HostPort) continue;
      let host: Range;
      try {
        host = range(b.HostPort, 'hostPort');
      } catch {
        throw invalid(`invalid port specification: "${b.HostPort}"`);
      }
      const hostLen = host.to - host.from;
      const ctrLen = ports.to - ports.from;
      if (ctrLen !== 0 && hostLen !== ctrLen) {
        throw invalid(`invalid ranges specified for container and host Ports: ${ports.from}-${ports.to} and ${b.HostPort}`);
      }
    }
  }
}

/** PublishAllPorts adds an ephemeral binding for every exposed port that has none. */
export function withPublishAll(bindings: Bindings, exposed: Record<string, object> | null | undefined, publishAll: boolean | undefined): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = {};
  for (const [k, list] of Object.entries(bindings ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = [...(list ?? [])];
  if (publishAll) {
    for (const k of Object.keys(exposed ?? {})) {
      const key = k.includes('/') ? k : `${k}/tcp`;
      if (!out[key]?.length) out[key] = [{ HostIp: '', HostPort: '' }];
    }
  }
  return out;
}

/** Asks the kernel for a free port in its ephemeral range (ip_local_port_range). */
function ephemeral(protocol: string, hostIP?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const s = createSocket(hostIP?.includes(':') ? 'udp6' : 'udp4');
      s.on('error', reject);
      s.bind(0, hostIP || undefined, () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
      return;
    }
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, hostIP || undefined, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

function sameAddress(a?: string, b?: string): boolean {
  const any = (x?: string) => !x || x === '0.0.0.0' || x === '::';
  return any(a) || any(b) || a === b;
}

/**
 * Turns the bindings into concrete mappings. `taken` are the mappings other
 * containers hold: a clash is dockerd's "port is already allocated".
 */
export async function resolveMappings(bindings: Record<string, PortBinding[]>, taken: PortMapping[]): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  const clash = (m: PortMapping) => [...taken, ...out].some((t) => t.hostPort === m.hostPort && t.protocol === m.protocol && sameAddress(t.hostIP, m.hostIP));
  for (const [key, list] of Object.entries(bindings)) {
    const { ports, protocol } = parsePortKey(key);
    for (const b of list) {
      const hostIP = b.HostIp || undefined;
      for (let p = ports.from; p <= ports.to; p++) {
        let hostPort: number;
        if (!b.HostPort) {
          hostPort = await ephemeral(protocol, hostIP);
          for (let tries = 0; tries < 20 && clash({ hostPort, containerPort: p, protocol, hostIP }); tries++) hostPort = await ephemeral(protocol, hostIP);
        } else {
          const host = range(b.HostPort, 'hostPort');
          if (ports.from === ports.to && host.from !== host.to) {
            // One container port, a host range: the first free port of the range.
            const free = [...Array(host.to - host.from + 1).keys()].map((i) => host.from + i).find((hp) => !clash({ hostPort: hp, containerPort: p, protocol, hostIP }));
            hostPort = free ?? host.from;
          } else hostPort = host.from + (p - ports.from);
        }
        const m: PortMapping = { hostPort, containerPort: p, protocol, ...(hostIP ? { hostIP } : {}) };
        if (clash(m)) {
          throw new DaemonError('internal', `driver failed programming external connectivity: Bind for ${hostIP ?? '0.0.0.0'}:${hostPort} failed: port is already allocated`);
        }
        out.push(m);
      }
    }
  }
  return out;
}

/** The Ports map of inspect: exposed ports with null, published ones with their host side. */
export function portsView(exposed: Record<string, object> | null | undefined, mappings: PortMapping[]): Record<string, PortBinding[] | null> {
  const out: Record<string, PortBinding[] | null> = {};
  for (const k of Object.keys(exposed ?? {})) out[k.includes('/') ? k : `${k}/tcp`] = null;
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const list = out[key] ?? [];
    list.push({ HostIp: m.hostIP ?? '0.0.0.0', HostPort: String(m.hostPort) });
    out[key] = list;
  }
  return out;
}
