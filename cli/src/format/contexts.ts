// The rows the list commands print, field for field as the docker CLI's formatting
// contexts define them (so --format strings written for docker work unchanged).
import { ellipsis, joinLabels, type ListFormat, type Row, shortId } from './output.js';
import { familiarName, familiarString, parseReference } from './reference.js';
import { ago, goTime, humanSize } from './units.js';

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** Byte-wise string order, as Go compares strings. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The PORTS column: ports sorted by container port, runs of consecutive ports
 * collapsed into ranges, published ports as ip:host->container/proto.
 */
export function displayPorts(ports: Port[] | null | undefined): string {
  if (!ports?.length) return '';
  const sorted = [...ports].sort(
    (a, b) =>
      a.PrivatePort - b.PrivatePort ||
      cmp(a.IP ?? '', b.IP ?? '') ||
      (a.PublicPort ?? 0) - (b.PublicPort ?? 0) ||
      cmp(a.Type, b.Type),
  );
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const mappings: string[] = [];
  const form = (key: string, g: { first: number; last: number }) => {
    const [a, b] = key.split('/');
    const ip = b === undefined ? '' : a;
    const proto = b === undefined ? a : b;
    let range = String(g.first);
    if (g.last !== g.first) range += `-${g.last}`;
    return ip ? `${ip}:${range}->${range}/${proto}` : `${range}/${proto}`;
  };
  for (const p of sorted) {
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== p.PrivatePort) {
        mappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    else if (p.PrivatePort === g.last + 1) g.last = p.PrivatePort;
    else {
      result.push(form(key, g));
      groups.set(key, { first: p.PrivatePort, last: p.PrivatePort });
    }
  }
  for (const [k, g] of groups) result.push(form(k, g));
  return [...result, ...mappings].join(', ');
}

export const containerFormat: ListFormat = {
  defaultTable: 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}',
  headers: {
    ID: 'CONTAINER ID',
    Image: 'IMAGE',
    Command: 'COMMAND',
    CreatedAt: 'CREATED AT',
    RunningFor: 'CREATED',
    Ports: 'PORTS',
    State: 'STATE',
    Status: 'STATUS',
    Size: 'SIZE',
    Names: 'NAMES',
    Labels: 'LABELS',
    Mounts: 'MOUNTS',
    Networks: 'NETWORKS',
    LocalVolumes: 'LOCAL VOLUMES',
    Platform: 'PLATFORM',
  },
};

export function containerRow(c: any, opts: { noTrunc?: boolean } = {}, now = Date.now()): Row {
  const trunc = !opts.noTrunc;
  let image: string = c.Image ?? '';
  if (image.startsWith('sha256:') && c.ImageID === image) image = trunc ? shortId(image) : image;
  else if (trunc && image) {
    if (/^sha256:[0-9a-f]{64}$/.test(image)) image = shortId(image);
    else image = familiarString(image);
  }
  let names: string[] = (c.Names ?? []).map((n: string) => n.replace(/^\//, ''));
  // Without --no-trunc docker hides link names (those with another slash).
  if (trunc) names = names.filter((n) => !n.includes('/')).slice(0, 1);
  let command: string = c.Command ?? '';
  if (trunc) command = ellipsis(command, 20);
  const labels: Record<string, string> = c.Labels ?? {};
  const mounts = (c.Mounts ?? []).map((m: any) => {
    const name = m.Name || m.Source || '';
    return trunc ? ellipsis(name, 15) : name;
  });
  let size = humanSize(c.SizeRw ?? 0, 3);
  if ((c.SizeRootFs ?? 0) > 0) size += ` (virtual ${humanSize(c.SizeRootFs, 3)})`;
  return {
    ID: trunc ? shortId(c.Id) : c.Id,
    Image: image,
    Command: JSON.stringify(command),
    CreatedAt: goTime(c.Created),
    RunningFor: ago(c.Created, now),
    Ports: displayPorts(c.Ports),
    State: c.State ?? '',
    Status: c.Status ?? '',
    Size: size,
    Names: names.join(','),
    Labels: joinLabels(labels),
    Mounts: mounts.join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(','),
    LocalVolumes: String((c.Mounts ?? []).filter((m: any) => m.Driver === 'local').length),
    Platform: null,
    Label: (name: string) => labels[name] ?? '',
  };
}

export const imageFormat: ListFormat = {
  defaultTable: 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}',
  headers: {
    ID: 'IMAGE ID',
    Repository: 'REPOSITORY',
    Tag: 'TAG',
    Digest: 'DIGEST',
    CreatedSince: 'CREATED',
    CreatedAt: 'CREATED AT',
    Size: 'SIZE',
    Containers: 'CONTAINERS',
    VirtualSize: 'VIRTUAL SIZE',
    SharedSize: 'SHARED SIZE',
    UniqueSize: 'UNIQUE SIZE',
  },
};

export const imageDigestsTable =
  'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';

/** One row per repository:tag (and per digest with --digests), as `docker images`. */
export function imageRows(img: any, opts: { noTrunc?: boolean; digests?: boolean } = {}, now = Date.now()): Row[] {
  const base = (repo: string, tag: string, digest: string): Row => {
    const na = (n: number | undefined) => (n === undefined || n < 0 ? 'N/A' : null);
    return {
      ID: opts.noTrunc ? img.Id : shortId(img.Id),
      Repository: repo,
      Tag: tag,
      Digest: digest,
      CreatedSince: ago(img.Created, now),
      CreatedAt: goTime(img.Created),
      Size: humanSize(img.Size ?? 0, 3),
      Containers: na(img.Containers) ?? String(img.Containers),
      VirtualSize: humanSize(img.VirtualSize ?? img.Size ?? 0),
      SharedSize: na(img.SharedSize) ?? humanSize(img.SharedSize),
      UniqueSize: na(img.SharedSize) ?? humanSize((img.Size ?? 0) - img.SharedSize),
    };
  };
  const tags: string[] = (img.RepoTags ?? []).filter((t: string) => t !== '<none>:<none>');
  const digests: string[] = (img.RepoDigests ?? []).filter((d: string) => d !== '<none>@<none>');
  if (tags.length === 0 && digests.length === 0) return [base('<none>', '<none>', '<none>')];
  const byRepoTags = new Map<string, string[]>();
  const byRepoDigests = new Map<string, string[]>();
  for (const t of tags) {
    try {
      const r = parseReference(t);
      if (r.tag === undefined) continue;
      const repo = familiarName(r.name);
      byRepoTags.set(repo, [...(byRepoTags.get(repo) ?? []), r.tag]);
    } catch {}
  }
  for (const d of digests) {
    try {
      const r = parseReference(d);
      if (!r.digest) continue;
      const repo = familiarName(r.name);
      byRepoDigests.set(repo, [...(byRepoDigests.get(repo) ?? []), r.digest]);
    } catch {}
  }
  const rows: Row[] = [];
  for (const [repo, repoTags] of byRepoTags) {
    const ds = opts.digests ? (byRepoDigests.get(repo) ?? []) : [];
    byRepoDigests.delete(repo);
    for (const tag of repoTags) {
      if (ds.length === 0) rows.push(base(repo, tag, '<none>'));
      else for (const d of ds) rows.push(base(repo, tag, d));
    }
  }
  for (const [repo, ds] of byRepoDigests) {
    if (opts.digests) for (const d of ds) rows.push(base(repo, '<none>', d));
    else rows.push(base(repo, '<none>', ''));
  }
  return rows;
}

export const volumeFormat: ListFormat = {
  defaultTable: 'table {{.Driver}}\t{{.Name}}',
  headers: {
    Name: 'VOLUME NAME',
    Driver: 'DRIVER',
    Scope: 'SCOPE',
    Mountpoint: 'MOUNTPOINT',
    Labels: 'LABELS',
    Links: 'LINKS',
    Size: 'SIZE',
    Group: 'GROUP',
    Availability: 'AVAILABILITY',
    Status: 'STATUS',
  },
};

export function volumeRow(v: any): Row {
  const labels: Record<string, string> = v.Labels ?? {};
  const usage = v.UsageData;
  return {
    Availability: 'N/A',
    Driver: v.Driver ?? '',
    Group: 'N/A',
    Labels: joinLabels(labels),
    Links: usage && usage.RefCount >= 0 ? String(usage.RefCount) : 'N/A',
    Mountpoint: v.Mountpoint ?? '',
    Name: v.Name,
    Scope: v.Scope ?? '',
    Size: usage && usage.Size >= 0 ? humanSize(usage.Size) : 'N/A',
    Status: 'N/A',
    Label: (name: string) => labels[name] ?? '',
  };
}

export const networkFormat: ListFormat = {
  defaultTable: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}',
  headers: {
    ID: 'NETWORK ID',
    Name: 'NAME',
    Driver: 'DRIVER',
    Scope: 'SCOPE',
    IPv4: 'IPV4',
    IPv6: 'IPV6',
    Internal: 'INTERNAL',
    Labels: 'LABELS',
    CreatedAt: 'CREATED AT',
  },
};

export function networkRow(n: any, opts: { noTrunc?: boolean } = {}): Row {
  const labels: Record<string, string> = n.Labels ?? {};
  return {
    CreatedAt: n.Created ? goTime(n.Created) : '',
    Driver: n.Driver ?? '',
    ID: opts.noTrunc ? n.Id : shortId(n.Id),
    IPv4: String(n.EnableIPv4 ?? false),
    IPv6: String(n.EnableIPv6 ?? false),
    Internal: String(n.Internal ?? false),
    Labels: joinLabels(labels),
    Name: n.Name,
    Scope: n.Scope ?? '',
    Label: (name: string) => labels[name] ?? '',
  };
}
