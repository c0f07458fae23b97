// Platform strings (`linux/arm64/v8`) and the choice of a manifest from an index.
import type { Descriptor, Platform } from './digest.js';
import { invalidArgument, notFound } from './errors.js';

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', x86: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  if (architecture === 'arm64' && (variant === 'v8' || variant === '8')) variant = undefined;
  if (architecture === 'arm' && !variant) variant = 'v7';
  if (p.architecture.toLowerCase() === 'armel' && !p.variant) variant = 'v6';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  if (architecture === 'aarch64') architecture = 'arm64';
  return { os, architecture, ...(variant ? { variant } : {}) };
}

export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !x)) {
    throw invalidArgument(`invalid platform ${JSON.stringify(s)}: expected os/arch[/variant]`);
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  return !w.variant || w.variant === h.variant;
}

/** Picks the manifest for a platform from an index's entries (the first match, skipping attestations). */
export function selectManifest(manifests: Descriptor[], want: Platform = DEFAULT_PLATFORM): Descriptor {
  const candidates = manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest');
  const found = candidates.find((m) => platformMatches(want, m.platform));
  if (found) return found;
  const have = candidates.map((m) => (m.platform ? formatPlatform(m.platform) : 'unknown')).join(', ');
  throw notFound(`no manifest for platform ${formatPlatform(want)} (index has: ${have || 'nothing'})`);
}
