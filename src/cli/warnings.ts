/**
 * warnings: Node's process warnings, printed as Node prints them, less one that says nothing to
 * act on here. grpc-js sets the TLS server name to the endpoint's host, which for raftkube's
 * loopback members is an IP address, and Node warns about that once per process (DEP0123); the
 * member's certificate is still checked against the address's subjectAltName.
 */

/** QUIET_WARNINGS are the warning codes not printed. */
const QUIET_WARNINGS: ReadonlySet<string> = new Set(['DEP0123']);

/** quietTlsServerNameWarning replaces Node's warning printer with one that skips QUIET_WARNINGS. */
export function quietTlsServerNameWarning(): void {
  // NB: Node adds its printer only when warnings are on (no --no-warnings, no NODE_NO_WARNINGS=1).
  if (process.listenerCount('warning') === 0) return;
  process.removeAllListeners('warning');
  process.on('warning', (w: Error & { code?: string }) => {
    if (w.code !== undefined && QUIET_WARNINGS.has(w.code)) return;
    process.stderr.write(`(node:${process.pid}) ${w.code === undefined ? '' : `[${w.code}] `}${w.name}: ${w.message}\n`);
  });
}
