// Image references normalised as Docker does: `busybox` is
// `docker.io/library/busybox:latest`, `index.docker.io` is `docker.io`, a first path
// component is a registry host only if it has a `.` or `:` or is `localhost`.
import { invalidArgument } from './errors.js';

export interface Reference {
  /** Registry host, e.g. `docker.io` or `127.0.0.1:5000`. */
  domain: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export const DEFAULT_DOMAIN = 'docker.io';

/** Parses and normalises a reference; a bare name gets the tag `latest`. */
export function parseReference(input: string): Reference {
  const bad = (why: string) => invalidArgument(`invalid reference format ${JSON.stringify(input)}: ${why}`);
  if (!input || input.length > 255 + 128 + 80) throw bad('empty or too long');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`bad digest ${JSON.stringify(digest)}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`bad tag ${JSON.stringify(tag)}`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!DOMAIN.test(domain)) throw bad(`bad registry host ${JSON.stringify(domain)}`);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (!path) throw bad('empty repository name');
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) {
      throw bad(c !== c.toLowerCase() ? 'repository name must be lowercase' : `bad path component ${JSON.stringify(c)}`);
    }
  }
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

/** The full normalised name, e.g. `docker.io/library/busybox:latest`. */
export function formatReference(r: Reference): string {
  let s = `${r.domain}/${r.path}`;
  if (r.tag) s += `:${r.tag}`;
  if (r.digest) s += `@${r.digest}`;
  return s;
}

export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** `docker.io/library/busybox:latest` → `busybox:latest`, as the docker CLI shows names. */
export function familiarName(input: string): string {
  const r = parseReference(input);
  let name = `${r.domain}/${r.path}`;
  if (r.domain === DEFAULT_DOMAIN) name = r.path.startsWith('library/') && r.path.split('/').length === 2 ? r.path.slice(8) : r.path;
  if (r.tag) name += `:${r.tag}`;
  if (r.digest) name += `@${r.digest}`;
  return name;
}

/** The repository without tag or digest: `docker.io/library/busybox`. */
export function repository(r: Reference): string {
  return `${r.domain}/${r.path}`;
}
