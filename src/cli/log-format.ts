/**
 * log-format: how the long-running processes (kv member, apiserver, scheduler, controller
 * manager, node agent, load balancer) write their pino log lines — `--log-format json` (one
 * JSON object per line, for files and log shippers) or `--log-format text` (one readable line
 * per event, for a person at a terminal). The default is text when the logs go to a terminal
 * and JSON otherwise, so processes that `raftkube up` starts (logging into files) write JSON.
 *
 * The text form is written synchronously from the logging thread (no worker-thread transport):
 * a line logged just before a kill -9 is on its way out, as with pino's own JSON destination.
 */
import { writeSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { pino, type DestinationStream, type Logger } from 'pino';

/** LogFormat is how log lines are written. */
export type LogFormat = 'json' | 'text';

/** LOG_FORMAT_HELP describes --log-format for every command that takes it. */
export const LOG_FORMAT_HELP = 'json (one JSON object per line) or text (readable lines); default: text on a terminal, json otherwise';

/** parseLogFormat is commander's parser for --log-format. */
export function parseLogFormat(v: string): LogFormat {
  if (v !== 'json' && v !== 'text') throw new InvalidArgumentError('Must be json or text.');
  return v;
}

/** chooseLogFormat is the format asked for, or by default text when the logs go to a terminal. */
export function chooseLogFormat(asked: LogFormat | undefined, toTerminal: boolean): LogFormat {
  return asked ?? (toTerminal ? 'text' : 'json');
}

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** WHO are the fields that say which process logged, shown after the component. */
const WHO = ['member', 'master', 'node'] as const;
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'component', 'err', ...WHO]);

function shown(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  // NB: undefined, functions and symbols do not survive JSON; pino never writes them.
  return JSON.stringify(v) ?? typeof v;
}

function errorLines(err: unknown): string {
  if (typeof err !== 'object' || err === null) return ` err=${shown(err)}`;
  const e = err as { message?: unknown; stack?: unknown };
  const stack = typeof e.stack === 'string' ? e.stack : typeof e.message === 'string' ? e.message : JSON.stringify(err);
  return `\n    ${stack.split('\n').join('\n    ')}`;
}

/**
 * formatLine renders one pino record as text: time (UTC), level, component and who (member,
 * master or node), the message, then the other fields as key=value, and an error's stack
 * indented on the lines below.
 */
export function formatLine(rec: Readonly<Record<string, unknown>>): string {
  const time = typeof rec['time'] === 'number' ? new Date(rec['time']).toISOString().slice(11, 23) : '--:--:--.---';
  const level = (typeof rec['level'] === 'number' ? LEVELS[rec['level']] : undefined) ?? String(rec['level']);
  const who = [rec['component'], ...WHO.map((k) => rec[k])].filter((v) => v !== undefined).map(String).join(' ');
  const msg = typeof rec['msg'] === 'string' ? rec['msg'] : '';
  const fields = Object.entries(rec).filter(([k]) => !OMIT.has(k)).map(([k, v]) => `${k}=${shown(v)}`);
  const rest = fields.length === 0 ? '' : `  ${fields.join(' ')}`;
  const err = rec['err'] === undefined ? '' : errorLines(rec['err']);
  return `${time} ${level.padEnd(5)} ${who}: ${msg}${rest}${err}\n`;
}

/** textDestination turns pino's JSON lines into text lines, written synchronously to fd. */
export function textDestination(fd: number): DestinationStream {
  return {
    write(line: string): void {
      let out: string;
      try {
        out = formatLine(JSON.parse(line) as Record<string, unknown>);
      } catch {
        out = line; // not a JSON record: pass it through as it came
      }
      writeSync(fd, out);
    },
  };
}

/** LoggerOptions make a process's logger. */
export interface LoggerOptions {
  readonly level?: string;
  /** base fields on every line: the component and who (member, master or node). */
  readonly base: Readonly<Record<string, string>>;
  /** format as asked for on the command line (absent: by the terminal). */
  readonly format?: LogFormat;
}

/** createLogger makes the pino logger of a long-running process, writing to stdout in the chosen format. */
export function createLogger(o: LoggerOptions): Logger {
  const opts = { level: o.level ?? 'info', base: { ...o.base } };
  if (chooseLogFormat(o.format, process.stdout.isTTY === true) === 'json') return pino(opts);
  return pino(opts, textDestination(1));
}
