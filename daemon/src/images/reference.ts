// Docker's image reference normalisation: `busybox` is docker.io/library/busybox:latest,
// and the familiar form drops that default domain and `library/` again.
import { invalid } from '../errors.js';

export interface Reference {
  domain: string;
  path: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export function parseReference(ref: string): Reference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(`invalid reference format: ${ref}`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(`invalid reference format: ${ref}`);
  }
  if (rest === '') throw invalid(`invalid reference format: ${ref}`);
  if (rest !== rest.toLowerCase() && !rest.includes('/')) {
    throw invalid(`invalid reference format: repository name (${rest}) must be lowercase`);
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  for (const c of path.split('/')) {
    if (!COMPONENT.test(c)) throw invalid(`invalid reference format: ${ref}`);
  }
  if (!tag && !digest) tag = 'latest';
  return { domain, path, tag, digest };
}

/** The fully qualified name shimd stores: docker.io/library/busybox:latest. */
export function normalizeReference(ref: string): string {
  return formatReference(parseReference(ref));
}

export function formatReference(r: Reference): string {
  return `${r.domain}/${r.path}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}

/** The repository part without tag or digest. */
export function repository(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** What `docker images` shows: busybox:latest, localhost:5000/x:1. */
export function familiarName(full: string): string {
  let s = full;
  if (s.startsWith(`${DEFAULT_DOMAIN}/`)) {
    s = s.slice(DEFAULT_DOMAIN.length + 1);
    if (s.startsWith('library/') && !s.slice('library/'.length).includes('/')) s = s.slice('library/'.length);
  }
  return s;
}

export function familiarRepository(full: string): string {
  const r = parseReference(full);
  return familiarName(repository(r));
}
