import { describe, expect, it } from 'vitest';
import { EventBus, eventJson } from './bus.js';

describe('event bus', () => {
  it('writes timeNano as exact integer digits and keeps time consistent with it', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    const sub = bus.subscribe(undefined, (e) => seen.push(eventJson(e)));
    bus.publish('volume', 'create', 'v1', { driver: 'local' });
    bus.publish('volume', 'destroy', 'v1', { driver: 'local' });
    sub.cancel();
    const texts = seen.map((l) => /"timeNano":([0-9]+)}$/.exec(l)?.[1]);
    expect(texts.every((t) => t && t.length === 19)).toBe(true);
    const [a, b] = texts.map((t) => BigInt(t!));
    expect(b! > a!).toBe(true);
    const parsed = JSON.parse(seen[0]!);
    expect(parsed).toMatchObject({ Type: 'volume', Action: 'create', Actor: { ID: 'v1', Attributes: { driver: 'local' } }, scope: 'local' });
    expect(String(parsed.time)).toBe(texts[0]!.slice(0, -9));
  });

  it('replays history from an exact nanosecond since', () => {
    const bus = new EventBus();
    bus.publish('volume', 'create', 'a');
    const probe = bus.subscribe(0n, () => undefined);
    const first = probe.past[0]!.timeNano;
    probe.cancel();
    bus.publish('volume', 'create', 'b');
    const sub = bus.subscribe(first + 1n, () => undefined);
    expect(sub.past.map((e) => e.Actor.ID)).toEqual(['b']);
    sub.cancel();
  });
});
