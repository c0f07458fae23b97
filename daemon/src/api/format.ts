// Docker's human-readable pieces that clients show verbatim (ps STATUS column).

export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

/** Filters as clients send them: {"k":["v"]} or the older {"k":{"v":true}}. */
export function parseFilters(raw: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (typeof raw !== 'string' || raw === '') return out;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(raw);
  } catch {
    const e = new Error(`invalid filter: ${raw}`) as Error & { status: number };
    e.status = 400;
    throw e;
  }
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (v && typeof v === 'object') out.set(k, Object.keys(v).filter((x) => (v as Record<string, unknown>)[x]));
  }
  return out;
}

export function boolParam(v: unknown, dflt = false): boolean {
  if (v === undefined || v === '') return dflt;
  const s = String(v).toLowerCase();
  return !(s === '0' || s === 'false' || s === 'no');
}

export function intParam(v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** since/until as Docker accepts them: unix seconds (fractional) or RFC 3339. */
/** timeParam in exact integer nanoseconds ("1700000000.123456789" keeps every digit). */
export function timeParamNs(v: unknown): bigint | undefined {
  const m = /^([0-9]+)(?:\.([0-9]+))?$/.exec(String(v ?? ''));
  if (m && String(v) !== '0') return BigInt(m[1]!) * 1_000_000_000n + BigInt((m[2] ?? '').slice(0, 9).padEnd(9, '0'));
  const t = timeParam(v);
  return t === undefined ? undefined : BigInt(Math.round(t * 1000)) * 1_000_000n;
}

export function timeParam(v: unknown): number | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  const s = String(v);
  if (/^[0-9]+(\.[0-9]+)?$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t / 1000;
}

/** The fields of a ContainerConfig (container and image inspect) a record may leave out, with Docker's empty values. */
export const EMPTY_CONTAINER_CONFIG = {
  Hostname: '',
  Domainname: '',
  User: '',
  AttachStdin: false,
  AttachStdout: false,
  AttachStderr: false,
  Tty: false,
  OpenStdin: false,
  StdinOnce: false,
  Env: null,
  Cmd: null,
  Image: '',
  Volumes: null,
  WorkingDir: '',
  Entrypoint: null,
  OnBuild: null,
};
