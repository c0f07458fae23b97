// Image references as docker normalises them: `busybox` is
// docker.io/library/busybox:latest, and is shown back in its familiar short form.

export interface Reference {
  /** Fully qualified repository, e.g. docker.io/library/busybox. */
  name: string;
  tag?: string;
  digest?: string;
}

function hasDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase();
}

export function parseReference(ref: string): Reference {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(rest.replace(/^[^/]+\//, (d) => (hasDomain(d.slice(0, -1)) ? '' : d)))) {
    throw new Error(`invalid reference format: repository name (${rest}) must be lowercase`);
  }
  const parts = rest.split('/');
  let name: string;
  if (parts.length > 1 && hasDomain(parts[0])) name = rest;
  else if (parts.length === 1) name = `docker.io/library/${rest}`;
  else name = `docker.io/${rest}`;
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw new Error(`invalid reference format: "${ref}"`);
  return { name, tag, digest };
}

/** The repository in its short form: docker.io/library/busybox → busybox. */
export function familiarName(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

/** The reference as docker shows it: familiar name, then :tag and/or @digest. */
export function familiarString(ref: string): string {
  try {
    const r = parseReference(ref);
    return `${familiarName(r.name)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
  } catch {
    return ref;
  }
}

/** Adds :latest when neither tag nor digest is given (what `pull`/`run` ask the daemon for). */
export function withDefaultTag(ref: string): string {
  const r = parseReference(ref);
  if (r.tag === undefined && !r.digest) return `${ref}:latest`;
  return ref;
}
