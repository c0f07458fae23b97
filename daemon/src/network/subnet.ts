// IPv4 subnets for the default bridge: parsing, overlap, and the choice dockerd makes
// for docker0 — 172.17.0.0/16 unless the host already routes it, then the next free
// private /16 (or, as a last resort, a /20 under 192.168.0.0/16).
import { execFileSync } from 'node:child_process';
import { invalid } from '../errors.js';

export interface Subnet {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "172.17.0.0/16" → its network; an address with host bits set is reduced to its network. */
export function parseSubnet(cidr: string): Subnet {
  const [ip, len] = cidr.split('/');
  const n = ipToInt(ip ?? '');
  const prefix = Number(len);
  if (n === undefined || !/^[0-9]{1,2}$/.test(len ?? '') || prefix > 30 || prefix < 8) {
    throw invalid(`invalid subnet ${JSON.stringify(cidr)}: want an IPv4 CIDR such as 172.17.0.0/16 (prefix 8-30)`);
  }
  return { base: (n & mask(prefix)) >>> 0, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${intToIp(s.base)}/${s.prefix}`;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** The first host address, which the bridge takes as the containers' gateway. */
export function gatewayOf(s: Subnet): string {
  return intToIp(s.base + 1);
}

function ipJson(args: string[]): any[] {
  try {
    return JSON.parse(execFileSync('ip', ['-j', '-4', ...args], { stdio: ['ignore', 'pipe', 'ignore'] }).toString() || '[]');
  } catch {
    return [];
  }
}

/** The subnet an existing bridge already carries (a previous run of this daemon). */
export function bridgeSubnet(bridge: string): Subnet | undefined {
  for (const link of ipJson(['addr', 'show', 'dev', bridge])) {
    for (const a of link.addr_info ?? []) {
      if (a.family === 'inet' && a.local) return parseSubnet(`${a.local}/${a.prefixlen}`);
    }
  }
  return undefined;
}

/** Subnets in use on the host: its routes and its interface addresses. */
export function hostSubnets(): Subnet[] {
  const out: Subnet[] = [];
  for (const r of ipJson(['route', 'show', 'table', 'all'])) {
    if (!r.dst || r.dst === 'default' || r.type === 'broadcast' || r.type === 'local') continue;
    const dst = String(r.dst).includes('/') ? String(r.dst) : `${r.dst}/32`;
    try {
      const s = parseSubnet(dst.replace(/\/(3[12])$/, '/30'));
      if (s.base >>> 24 !== 127) out.push(s);
    } catch {}
  }
  for (const link of ipJson(['addr'])) {
    for (const a of link.addr_info ?? []) {
      if (a.family !== 'inet' || !a.local || String(a.local).startsWith('127.')) continue;
      try {
        out.push(parseSubnet(`${a.local}/${Math.min(Math.max(a.prefixlen, 8), 30)}`));
      } catch {}
    }
  }
  return out;
}

export function candidates(): Subnet[] {
  const out: Subnet[] = [];
  for (let b = 17; b <= 31; b++) out.push({ base: ipToInt(`172.${b}.0.0`)!, prefix: 16 });
  for (let c = 0; c < 256; c += 16) out.push({ base: ipToInt(`192.168.${c}.0`)!, prefix: 20 });
  return out;
}

/**
 * The default bridge's subnet: the one asked for; else what the bridge already has;
 * else the first candidate that collides with nothing on the host.
 */
export function chooseSubnet(bridge: string, requested: string, inUse: () => Subnet[] = hostSubnets): Subnet {
  if (requested && requested !== 'auto') return parseSubnet(requested);
  const existing = bridgeSubnet(bridge);
  if (existing) return existing;
  const taken = inUse();
  const free = candidates().find((c) => !taken.some((t) => overlaps(c, t)));
  if (!free) throw invalid(`no free subnet for bridge ${bridge}: every candidate overlaps a host route; give --bridge-subnet`);
  return free;
}
