/**
 * The dashboard in a real browser: headless Chromium (Debian's `chromium`, driven by
 * playwright-core) loads the page of a running 3-member cluster, sees the three members and one
 * leader, and after the leader's process is killed with SIGKILL sees another member lead and
 * the old one down, within seconds and without reloading (the page lives on its event stream).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locate, PREREQUISITES } from '../../src/cli/prereqs.js';
import { EtcdClient } from '../../src/kv/client/etcd-client.js';
import { BackgroundCommand, RAFTKUBE_MAIN, startCluster, waitFor, type TestCluster } from '../integration/harness.js';

let cluster: TestCluster;
let dashboard: BackgroundCommand;
let browser: Browser;
let url: string;

/** CHROMIUM is the browser the prerequisites check found (or installed). */
function chromiumPath(): string {
  const p = PREREQUISITES.find((x) => x.command === 'chromium');
  const path = p === undefined ? null : locate(p, process.env);
  if (path === null) throw new Error('Chromium is missing: install Debian\'s chromium package (npm test installs it when run as root)');
  return path;
}

beforeAll(async () => {
  cluster = await startCluster({ masters: 3 });
  dashboard = new BackgroundCommand(process.execPath, [RAFTKUBE_MAIN, 'dashboard', '--cluster-file', cluster.dataDir, '--port', '0']);
  url = await waitFor('the dashboard to print its URL', () => /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(dashboard.stdout)?.[1], { timeoutMs: 30_000 });
  // Root cannot use Chromium's sandbox; the page is our own, on loopback.
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await cluster?.stop();
});

async function roles(page: Page): Promise<Record<string, string>> {
  const rows = page.locator('tr[data-member]');
  const out: Record<string, string> = {};
  for (let i = 0; i < (await rows.count()); i++) {
    const row = rows.nth(i);
    out[(await row.getAttribute('data-member')) ?? ''] = (await row.getAttribute('data-role')) ?? '';
  }
  return out;
}

describe('dashboard', () => {
  it('shows three members and one leader, and the new leader within seconds of killing the old one', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    // NB: page functions are given as source text: this project compiles without the DOM's types.
    await page.waitForFunction(`document.querySelectorAll('tr[data-member]').length === 3 && document.querySelectorAll('tr[data-role="leader"]').length === 1`, undefined, { timeout: 20_000 });
    const before = await roles(page);
    expect(Object.keys(before).sort()).toEqual(['m1', 'm2', 'm3']);
    const leader = Object.entries(before).find(([, r]) => r === 'leader')![0];
    expect(await page.textContent('#leader')).toBe(leader);
    // Both charts were drawn by the charting library.
    expect(await page.locator('#leader-chart canvas').count()).toBe(1);
    expect(await page.locator('#rate-chart canvas').count()).toBe(1);
    expect(await page.locator('#latency-chart canvas').count()).toBe(1);

    const pid = cluster.members.find((m) => m.name === leader)!.pids[0]!;
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    await page.waitForFunction(
      `(() => {
        const lead = document.querySelector('tr[data-role="leader"]');
        const gone = document.querySelector('tr[data-member="${leader}"]');
        return lead !== null && lead.getAttribute('data-member') !== '${leader}' && gone !== null && gone.getAttribute('data-role') === 'down';
      })()`,
      undefined,
      { timeout: 20_000 },
    );
    const after = await roles(page);
    const newLeader = Object.entries(after).find(([, r]) => r === 'leader')![0];
    expect(newLeader).not.toBe(leader);
    expect(after[leader]).toBe('down');
    expect(await page.textContent('#leader')).toBe(newLeader);
    // The change is listed with the new term, newest first.
    expect(await page.textContent('#changes li')).toContain(`${newLeader} leads`);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('serves the view as JSON, with the leader\'s write rate and fsync p99 from its metrics, and refuses what it does not serve', async () => {
    const client = new EtcdClient(cluster.clientURLs);
    try {
      // Writes between two rounds show up as the leader's committed proposals and fsyncs.
      await waitFor('a round with writes and fsyncs in it', async () => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => client.put(`dashboard/${i}`, 'v')));
        const s = (await (await fetch(`${url}api/state`)).json()) as { rates: { proposalsPerSec: number | null; fsyncP99Ms: number | null }[] };
        return s.rates.some((r) => (r.proposalsPerSec ?? 0) > 0 && (r.fsyncP99Ms ?? 0) > 0);
      }, { timeoutMs: 30_000, intervalMs: 500 });
    } finally {
      client.close();
    }
    const state = (await (await fetch(`${url}api/state`)).json()) as { members: { name: string }[] };
    expect(state.members.map((m) => m.name).sort()).toEqual(['m1', 'm2', 'm3']);
    expect((await fetch(`${url}nothing-here`)).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
  });
});
