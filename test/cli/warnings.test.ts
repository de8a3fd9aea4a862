/**
 * warnings: the CLI's warning printer drops Node's DEP0123 (a TLS server name that is an IP
 * address, which grpc-js sets for loopback members) and prints every other warning as Node does.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'src', 'cli', 'warnings.ts');

describe('quietTlsServerNameWarning', () => {
  it('prints other warnings but not DEP0123, also when Node itself raises it', () => {
    const script = [
      `import { quietTlsServerNameWarning } from ${JSON.stringify(MODULE)};`,
      "import * as tls from 'node:tls';",
      'quietTlsServerNameWarning();',
      "tls.connect({ host: '127.0.0.1', port: 1, servername: '127.0.0.1' }).on('error', () => undefined);",
      "process.emitWarning('something else', 'DeprecationWarning', 'DEP9999');",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\(node:\d+\) \[DEP9999\] DeprecationWarning: something else$/m);
    expect(r.stderr).not.toContain('ServerName');
  });
});
