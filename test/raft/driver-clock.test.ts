/**
 * driver-clock: systemClock, the production Clock the driver uses unless given another, on
 * vitest's fake timers (no real time passes): its timers fire when due and stop when
 * disposed, defer runs once after the current turn, and none of its timers keeps the process
 * alive.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/raft/driver.js';

describe('systemClock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads monotonic milliseconds that advance with time', () => {
    const t0 = systemClock.now();
    vi.advanceTimersByTime(250);
    expect(systemClock.now() - t0).toBe(250);
  });

  it('fires an interval every period until disposed', () => {
    let n = 0;
    const d = systemClock.setInterval(() => n++, 100);
    vi.advanceTimersByTime(99);
    expect(n).toBe(0);
    vi.advanceTimersByTime(201);
    expect(n).toBe(3);
    d.dispose();
    vi.advanceTimersByTime(1_000);
    expect(n).toBe(3);
  });

  it('fires a timeout once when due, and never once disposed', () => {
    let a = 0;
    let b = 0;
    systemClock.setTimeout(() => a++, 50);
    const d = systemClock.setTimeout(() => b++, 50);
    d.dispose();
    vi.advanceTimersByTime(49);
    expect(a).toBe(0);
    vi.advanceTimersByTime(500);
    expect([a, b]).toEqual([1, 0]);
  });

  it('defers work past the current turn, once', () => {
    const order: string[] = [];
    systemClock.defer?.(() => order.push('deferred'));
    order.push('now');
    expect(order).toEqual(['now']);
    vi.runAllTimers();
    expect(order).toEqual(['now', 'deferred']);
    vi.runAllTimers();
    expect(order).toEqual(['now', 'deferred']);
  });

  it('unrefs its timers, so a member\'s ticker never holds the process open', () => {
    const unref = vi.fn();
    const spy = vi.spyOn(globalThis, 'setInterval').mockReturnValue({ unref } as unknown as NodeJS.Timeout);
    const spy2 = vi.spyOn(globalThis, 'setTimeout').mockReturnValue({ unref } as unknown as NodeJS.Timeout);
    try {
      systemClock.setInterval(() => undefined, 10);
      systemClock.setTimeout(() => undefined, 10);
      expect(unref).toHaveBeenCalledTimes(2);
    } finally {
      spy.mockRestore();
      spy2.mockRestore();
    }
  });
});
