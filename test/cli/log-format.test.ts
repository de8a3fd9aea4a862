/**
 * log-format: choosing between JSON and text logs, and what a text line shows.
 */
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, formatLine, parseLogFormat } from '../../src/cli/log-format.js';

describe('chooseLogFormat', () => {
  it('takes the format asked for, else text on a terminal and JSON otherwise', () => {
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('text', false)).toBe('text');
    expect(chooseLogFormat(undefined, true)).toBe('text');
    expect(chooseLogFormat(undefined, false)).toBe('json');
  });

  it('refuses a format it does not know, saying which it knows', () => {
    expect(parseLogFormat('text')).toBe('text');
    expect(() => parseLogFormat('yaml')).toThrow('Must be json or text.');
  });
});

describe('formatLine', () => {
  const time = Date.UTC(2026, 10, 30, 19, 55, 1, 123);

  it('shows time, level, component and member, the message, then the other fields', () => {
    const line = formatLine({ level: 30, time, component: 'kv', member: 'm1', msg: 'raft state changed', role: 'leader', term: 2, peers: ['a', 'b'], note: 'two words' });
    expect(line).toBe('19:55:01.123 INFO  kv m1: raft state changed  role=leader term=2 peers=["a","b"] note="two words"\n');
  });

  it('names the master or node of control-plane components', () => {
    expect(formatLine({ level: 40, time, component: 'scheduler', master: 'm2', msg: 'lost the lease' })).toBe('19:55:01.123 WARN  scheduler m2: lost the lease\n');
    expect(formatLine({ level: 50, time, component: 'node-agent', node: 'n1', msg: 'x' })).toMatch(/^19:55:01\.123 ERROR node-agent n1: x\n$/);
  });

  it("puts an error's stack on indented lines below", () => {
    const line = formatLine({ level: 60, time, component: 'kv', member: 'm1', msg: 'storage failed', err: { type: 'Error', message: 'EIO', stack: 'Error: EIO\n    at sync (wal.ts:1)' } });
    expect(line).toBe('19:55:01.123 FATAL kv m1: storage failed\n    Error: EIO\n        at sync (wal.ts:1)\n');
  });
});
