/**
 * remote-command: the framing `kubectl exec` speaks over a WebSocket (Kubernetes'
 * channel.k8s.io subprotocols). Every binary message starts with one byte naming its stream:
 * 0 stdin, 1 stdout, 2 stderr, 3 error (the command's outcome as a Status, sent once at the
 * end), 4 resize (terminal size; ignored here). v5 adds 255, "close", whose second byte names
 * the stream the client has finished writing (so stdin can reach end of file).
 */

/** EXEC_PROTOCOLS are the subprotocols served, preferred first. */
export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

/** Channel numbers of the streams in a message's first byte. */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** ExecOptions are the query of a pods/<name>/exec request. */
export interface ExecOptions {
  readonly command: readonly string[];
  readonly container?: string;
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

const truthy = (v: string | null): boolean => v !== null && /^(1|t|true)$/i.test(v);

/** parseExecOptions reads an exec request's query: at least one command word is required. */
export function parseExecOptions(q: URLSearchParams): { ok: true; value: ExecOptions } | { ok: false; error: string } {
  const command = q.getAll('command');
  if (command.length === 0 || command[0] === '') return { ok: false, error: 'you must specify at least 1 command' };
  const container = q.get('container');
  const o: ExecOptions = {
    command,
    ...(container === null || container === '' ? {} : { container }),
    stdin: truthy(q.get('stdin')),
    stdout: truthy(q.get('stdout')),
    stderr: truthy(q.get('stderr')),
    tty: truthy(q.get('tty')),
  };
  if (!o.stdin && !o.stdout && !o.stderr) return { ok: false, error: 'you must specify at least 1 of stdin, stdout, stderr' };
  return { ok: true, value: o };
}

/** execQuery writes options back as a query (the apiserver passes them on to the node). */
export function execQuery(o: ExecOptions): URLSearchParams {
  const q = new URLSearchParams();
  for (const c of o.command) q.append('command', c);
  if (o.container !== undefined) q.set('container', o.container);
  for (const k of ['stdin', 'stdout', 'stderr', 'tty'] as const) if (o[k]) q.set(k, 'true');
  return q;
}

/** chooseProtocol picks the first served subprotocol the client offers, or null. */
export function chooseProtocol(offered: Iterable<string>): string | null {
  const set = new Set(offered);
  return EXEC_PROTOCOLS.find((p) => set.has(p)) ?? null;
}

/** exitStatus is the error channel's Status for a command's end, as kubectl reads it (exit code in details.causes). */
export function exitStatus(code: number | null, signal: string | null, command: readonly string[]): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  const exit = code ?? 128 + signalNumber(signal);
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exit}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exit) }] },
  };
}

/** failureStatus is the error channel's Status when the command could not run at all. */
export function failureStatus(message: string): Record<string, unknown> {
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', code: 500 };
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

function signalNumber(signal: string | null): number {
  return signal === null ? 0 : (SIGNALS[signal] ?? 0);
}
