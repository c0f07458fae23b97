// The event exchange: publishers hand envelopes to every matching subscriber in
// the order they were published, so one task's events arrive in lifecycle order.
import { nowRfc3339 } from '../errors.js';

export interface Envelope {
  timestamp: string;
  namespace: string;
  topic: string;
  event: string;
}

export interface Filter {
  topics: string[];
  namespaces: string[];
}

function matches(f: Filter, e: Envelope): boolean {
  if (f.namespaces.length && !f.namespaces.includes(e.namespace)) return false;
  if (f.topics.length && !f.topics.some((t) => (t.endsWith('/') ? e.topic.startsWith(t) : e.topic === t))) return false;
  return true;
}

export class Exchange {
  private readonly subscribers = new Set<{ filter: Filter; send: (e: Envelope) => void }>();

  publish(namespace: string, topic: string, event: object): void {
    const env: Envelope = { timestamp: nowRfc3339(), namespace, topic, event: JSON.stringify(event) };
    for (const s of this.subscribers) if (matches(s.filter, env)) s.send(env);
  }

  /** Returns an unsubscribe function. */
  subscribe(filter: Filter, send: (e: Envelope) => void): () => void {
    const sub = { filter, send };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }
}
