// Human-readable sizes and durations the way the docker CLI prints them (the
// go-units conventions): decimal units for image and container sizes, binary units
// for memory, and coarse "About a minute" style ages.

const DECIMAL = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Formats like Go's %.{precision}g: significant digits, no trailing zeros. */
function significant(n: number, precision: number): string {
  if (n === 0) return '0';
  let s = n.toPrecision(precision);
  if (s.includes('e')) {
    // Go writes 1e+03 where JS writes 1.00e+3.
    const [mant, exp] = s.split('e');
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    const e = Number(exp);
    return `${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
}

function scaled(size: number, base: number, units: string[], precision: number): string {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return `${significant(size, precision)}${units[i]}`;
}

/** Decimal size, as docker's image and container SIZE columns (precision 3). */
export function humanSize(bytes: number, precision = 4): string {
  return scaled(bytes, 1000, DECIMAL, precision);
}

/** Binary size, as `docker stats` memory columns. */
export function bytesSize(bytes: number, precision = 4): string {
  return scaled(bytes, 1024, BINARY, precision);
}

/**
 * Parses "512m", "1g", "100k", "1024", "5 MiB" into bytes (binary multiples) with the errors
 * of docker's size flags: the number runs to the last digit, dot or space; what follows is
 * an optional unit letter with an optional "b" or "ib".
 */
export function parseBytes(text: string): number {
  const sep = Math.max(...[...'0123456789. '].map((c) => text.lastIndexOf(c)));
  if (sep < 0) throw new Error(`invalid size: '${text}'`);
  const num = text[sep] === ' ' ? text.slice(0, sep) : text.slice(0, sep + 1);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(num)) throw new Error(`strconv.ParseFloat: parsing "${num}": invalid syntax`);
  const size = Number(num);
  if (size < 0) throw new Error(`invalid size: '${text}'`);
  const sfx = text.slice(sep + 1).toLowerCase();
  const mult: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  const unit = sfx[0] ?? '';
  const rest = sfx.slice(1);
  const ok = unit in mult && (unit === 'b' ? rest === '' : rest === '' || rest === 'b' || rest === 'ib');
  if (!ok) throw new Error(`invalid suffix: '${sfx}'`);
  return Math.trunc(size * mult[unit]);
}

/** A duration in words, as go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 minutes ago" for a time in the past (seconds since the epoch or an ISO string). */
export function ago(when: number | string, now = Date.now()): string {
  const t = typeof when === 'number' ? when * 1000 : Date.parse(when);
  if (!Number.isFinite(t) || t <= 0) return '';
  return `${humanDuration(Math.max(0, now - t))} ago`;
}

/**
 * A time as Go prints time.Time in the local zone: "2006-01-02 15:04:05.999999999 -0700 MST"
 * (fractional seconds without trailing zeros, none when zero). Unix seconds carry no
 * fraction; an RFC 3339 string keeps all of its digits (Date has only milliseconds).
 */
export function goTime(when: number | string): string {
  const d = typeof when === 'number' ? new Date(when * 1000) : new Date(when);
  const digits = typeof when === 'string' ? (/T\d\d:\d\d:\d\d\.(\d+)/.exec(when)?.[1] ?? '') : '';
  const fraction = digits.replace(/0+$/, '');
  const pad = (n: number) => String(n).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const zone = `${sign}${pad(Math.floor(Math.abs(off) / 60))}${pad(Math.abs(off) % 60)}`;
  const abbr = off === 0 ? 'UTC' : zone;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${fraction ? `.${fraction}` : ''} ${zone} ${abbr}`;
}

/** Parses docker duration flags ("10s", "1m30s", "500ms"); a bare number is seconds. */
export function parseDuration(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const mult: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * mult[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`invalid duration: "${text}"`);
  return total;
}

/**
 * A --since/--until value as the API takes it, converted on the client as docker's
 * timetypes.GetTimestamp does: a Go duration ("10m", "1h30m") counts back from now, an
 * RFC 3339 date or date-time (local time when it has no zone) becomes seconds.nanoseconds,
 * and a Unix timestamp passes through.
 */
export function apiTimestamp(value: string | undefined, now = Date.now()): string | undefined {
  if (value === undefined || value === '') return value;
  if (value !== '0' && /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value)) return String(Math.floor((now - parseDuration(value)) / 1000));
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(value);
  if (m) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
    const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone ?? ''}`;
    const ms = new Date(iso).getTime();
    if (Number.isNaN(ms)) throw new Error(`invalid time: "${value}"`);
    return `${Math.floor(ms / 1000)}.${frac.padEnd(9, '0')}`;
  }
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  throw new Error(`failed to parse value as time or duration: "${value}"`);
}
