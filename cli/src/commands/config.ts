// The client config file, docker's config.json format: registry credentials under
// "auths" as base64("user:password"), kept at mode 0600.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../cli.js';
import { parseReference } from '../format/reference.js';

export const DEFAULT_REGISTRY = 'https://index.docker.io/v1/';

export interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  detachKeys?: string;
  psFormat?: string;
  imagesFormat?: string;
  [k: string]: unknown;
}

export function configPath(dir: string): string {
  return join(dir, 'config.json');
}

export function readConfig(dir: string): ConfigFile {
  const p = configPath(dir);
  if (!existsSync(p)) return {};
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ConfigFile;
  } catch (e) {
    throw new CliError(`loading config file ${p}: ${(e as Error).message}`);
  }
}

export function writeConfig(dir: string, cfg: ConfigFile): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = configPath(dir);
  const tmp = `${p}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(cfg, null, '\t')}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, p);
}

/** The key credentials are stored under: docker.io is the index URL, others their host. */
export function registryKey(server: string | undefined): string {
  if (!server) return DEFAULT_REGISTRY;
  const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return DEFAULT_REGISTRY;
  return host;
}

export function registryOf(image: string): string {
  try {
    const r = parseReference(image);
    const host = r.name.split('/')[0];
    return registryKey(host);
  } catch {
    return DEFAULT_REGISTRY;
  }
}

export function encodeAuth(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`).toString('base64');
}

export function decodeAuth(auth: string): { username: string; password: string } {
  const text = Buffer.from(auth, 'base64').toString();
  const i = text.indexOf(':');
  if (i < 0) throw new CliError('invalid auth configuration file');
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** The X-Registry-Auth header value for an image's registry (base64url JSON), if we hold credentials. */
export function registryAuthHeader(dir: string, image: string): Record<string, string> {
  const key = registryOf(image);
  const entry = readConfig(dir).auths?.[key];
  if (!entry?.auth) return {};
  const { username, password } = decodeAuth(entry.auth);
  const json = JSON.stringify({ username, password, serveraddress: key });
  return { 'X-Registry-Auth': Buffer.from(json).toString('base64url') };
}
