// Docker's event stream: what happened to containers, images and volumes, kept in
// a bounded history (for --since) and pushed to subscribers (docker events).

export interface DockerEvent {
  status?: string;
  id?: string;
  from?: string;
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** Exact nanoseconds; JSON.stringify cannot write a bigint, so use eventJson. */
  timeNano: bigint;
}

/** The event as one line of JSON, timeNano written as its exact integer digits. */
export function eventJson(e: DockerEvent): string {
  const { timeNano, ...rest } = e;
  return `${JSON.stringify(rest).slice(0, -1)},"timeNano":${timeNano.toString()}}`;
}

// Wall-clock nanoseconds: the epoch offset is taken once from Date.now() (ms), and
// the monotonic high-resolution clock supplies every digit after it, so successive
// events carry distinct, increasing, full-precision times.
const EPOCH_OFFSET_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function nowNs(): bigint {
  return EPOCH_OFFSET_NS + process.hrtime.bigint();
}

const HISTORY = 1024;

export class EventBus {
  private readonly history: DockerEvent[] = [];
  private readonly subscribers = new Set<(e: DockerEvent) => void>();

  publish(type: DockerEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const ns = nowNs();
    const e: DockerEvent = {
      ...(type === 'container' || type === 'image' ? { status: action, id, ...(attributes.image ? { from: attributes.image } : {}) } : {}),
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(ns / 1_000_000_000n),
      timeNano: ns,
    };
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const s of this.subscribers) s(e);
  }

  /** Past events from `sinceNs`, then live ones until unsubscribed. */
  subscribe(sinceNs: bigint | undefined, fn: (e: DockerEvent) => void): { past: DockerEvent[]; cancel: () => void } {
    const past = sinceNs === undefined ? [] : this.history.filter((e) => e.timeNano >= sinceNs);
    this.subscribers.add(fn);
    return { past, cancel: () => this.subscribers.delete(fn) };
  }

  count(): number {
    return this.subscribers.size;
  }
}

export function matchesEvent(e: DockerEvent, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    if (!values.length) continue;
    const attrs = e.Actor.Attributes;
    const ok = values.some((v) => {
      switch (key) {
        case 'type':
          return e.Type === v;
        case 'event':
          return e.Action === v || e.Action.startsWith(`${v}:`);
        case 'container':
          return e.Type === 'container' && (e.Actor.ID.startsWith(v) || attrs.name === v);
        case 'image':
          return attrs.image === v || (e.Type === 'image' && (e.Actor.ID === v || attrs.name === v));
        case 'volume':
          return e.Type === 'volume' && e.Actor.ID === v;
        case 'network':
          return e.Type === 'network' && (e.Actor.ID === v || attrs.name === v);
        case 'daemon':
          return e.Type === 'daemon' && (e.Actor.ID === v || attrs.name === v);
        case 'label': {
          const i = v.indexOf('=');
          return i < 0 ? v in attrs : attrs[v.slice(0, i)] === v.slice(i + 1);
        }
        case 'scope':
          return v === 'local';
        default:
          return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}
