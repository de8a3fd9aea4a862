/**
 * history: the JSON-lines format — parsing with line-numbered errors for every kind of bad
 * input, pairing invokes with completions, and the writer's round trip.
 */
import { mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HistoryWriter,
  parseEvent,
  parseHistoryText,
  readHistoryFile,
  readHistoryStream,
  type HistoryEvent,
} from '../../../src/chaos/history.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkube-history-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseEvent', () => {
  it('decodes each f with its value shape', () => {
    expect(parseEvent('{"process":3,"type":"invoke","f":"read","key":"k7","value":null,"time":5}', 1)).toEqual({
      ok: true,
      value: { process: 3, type: 'invoke', f: 'read', key: 'k7', value: null, time: 5 },
    });
    expect(parseEvent('{"process":0,"type":"ok","f":"cas","key":"k","value":["a",2],"time":0}', 1)).toEqual({
      ok: true,
      value: { process: 0, type: 'ok', f: 'cas', key: 'k', value: ['a', 2], time: 0 },
    });
  });

  it.each([
    ['not json', 'Not JSON'],
    ['[1,2]', 'Not a JSON object'],
    ['{"process":1,"type":"invoke","f":"read","key":"k","value":null,"time":1,"extra":1}', 'Unknown field "extra"'],
    ['{"process":-1,"type":"invoke","f":"read","key":"k","value":null,"time":1}', '"process" must be a whole number'],
    ['{"process":1.5,"type":"invoke","f":"read","key":"k","value":null,"time":1}', '"process" must be a whole number'],
    ['{"process":1,"type":"done","f":"read","key":"k","value":null,"time":1}', '"type" must be invoke, ok, fail or info'],
    ['{"process":1,"type":"invoke","f":"delete","key":"k","value":null,"time":1}', '"f" must be read, write or cas'],
    ['{"process":1,"type":"invoke","f":"read","key":"","value":null,"time":1}', '"key" must be a non-empty string'],
    ['{"process":1,"type":"invoke","f":"read","key":"k","value":null,"time":"1"}', '"time" must be a number'],
    ['{"process":1,"type":"invoke","f":"read","key":"k","time":1}', '"value" is missing'],
    ['{"process":1,"type":"invoke","f":"read","key":"k","value":"x","time":1}', "A read's invoke must have \"value\": null"],
    ['{"process":1,"type":"invoke","f":"write","key":"k","value":{"a":1},"time":1}', "A write's \"value\" must be a JSON scalar"],
    ['{"process":1,"type":"invoke","f":"cas","key":"k","value":["a"],"time":1}', "A cas's \"value\" must be [expected, new]"],
  ])('rejects %s', (line, message) => {
    const r = parseEvent(line, 7);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.line).toBe(7);
      expect(r.error.message).toContain(message);
    }
  });
});

describe('pairing', () => {
  const ev = (o: Partial<HistoryEvent> & Pick<HistoryEvent, 'type'>): string =>
    JSON.stringify({ process: 1, f: 'write', key: 'k', value: 'v', time: 10, ...o });

  it('pairs per process, keeps invoke order, and turns a missing completion into open', async () => {
    const text = [
      ev({ type: 'invoke', process: 1, time: 1 }),
      ev({ type: 'invoke', process: 2, f: 'read', value: null, time: 2 }),
      '',
      ev({ type: 'ok', process: 2, f: 'read', value: 'v', time: 3 }),
      ev({ type: 'info', process: 1, time: 4 }),
      ev({ type: 'invoke', process: 1, f: 'cas', value: ['v', 'w'], time: 5 }),
    ].join('\n');
    const r = await parseHistoryText(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.events).toBe(5);
    expect(r.value.ops).toEqual([
      { id: 0, process: 1, key: 'k', call: { f: 'write', value: 'v' }, invokeTime: 1, invokeLine: 1, completion: { type: 'info', time: 4, line: 5 } },
      { id: 1, process: 2, key: 'k', call: { f: 'read' }, invokeTime: 2, invokeLine: 2, completion: { type: 'ok', time: 3, line: 4, read: 'v' } },
      { id: 2, process: 1, key: 'k', call: { f: 'cas', expected: 'v', next: 'w' }, invokeTime: 5, invokeLine: 6, completion: { type: 'open' } },
    ]);
  });

  it.each([
    [[ev({ type: 'ok' })], 1, 'completes (ok) an operation it never invoked'],
    [[ev({ type: 'invoke' }), ev({ type: 'invoke', time: 11 })], 2, 'invokes again while its operation from line 1 is outstanding'],
    [[ev({ type: 'invoke' }), ev({ type: 'ok', key: 'other' })], 2, 'does not match process 1\'s invoke on line 1 (write "v" on "k")'],
    [[ev({ type: 'invoke' }), ev({ type: 'ok', value: 'w' })], 2, 'does not match'],
    [[ev({ type: 'invoke' }), ev({ type: 'fail', f: 'cas', value: ['v', 'w'] })], 2, 'does not match'],
    [[ev({ type: 'invoke', time: 10 }), ev({ type: 'ok', time: 9 })], 2, 'before its invoke on line 1'],
    [[ev({ type: 'invoke' }), '{"broken'], 2, 'Not JSON'],
  ])('rejects a bad history (%#) at the right line', async (lines, line, message) => {
    const r = await parseHistoryText(lines.join('\n'));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.line).toBe(line);
      expect(r.error.message).toContain(message);
    }
  });

  it('streams from a byte stream split anywhere', async () => {
    const text = `${ev({ type: 'invoke' })}\n${ev({ type: 'ok', time: 12 })}\n`;
    const chunks = [text.slice(0, 7), text.slice(7, 40), text.slice(40)];
    const r = await readHistoryStream(Readable.from(chunks));
    expect(r.ok && r.value.ops.length).toBe(1);
  });

  it('reports a missing file as an error, not a throw', async () => {
    const r = await readHistoryFile(join(dir, 'nope.jsonl'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain('Cannot read the history file');
  });
});

describe('HistoryWriter', () => {
  it('writes lines the parser reads back unchanged', async () => {
    const path = join(dir, 'h.jsonl');
    const events: HistoryEvent[] = [
      { process: 0, type: 'invoke', f: 'cas', key: 'k1', value: [null, 'a'], time: 1 },
      { process: 1, type: 'invoke', f: 'read', key: 'k1', value: null, time: 2 },
      { process: 0, type: 'ok', f: 'cas', key: 'k1', value: [null, 'a'], time: 3 },
      { process: 1, type: 'ok', f: 'read', key: 'k1', value: 'a', time: 4 },
    ];
    const w = new HistoryWriter(createWriteStream(path));
    for (const e of events) await w.write(e);
    await w.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines.map((l, i) => parseEvent(l, i + 1))).toEqual(events.map((value) => ({ ok: true, value })));
    const r = await readHistoryFile(path);
    expect(r.ok && r.value.ops.map((o) => o.completion.type)).toEqual(['ok', 'ok']);
  });
});
