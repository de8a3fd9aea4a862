/**
 * `raftkube controller-manager`'s flags: durations, and the command as registered.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseDuration, registerControllerManagerCommand } from '../../../src/cli/controller-manager.js';

describe('raftkube controller-manager flags', () => {
  it('reads durations as Kubernetes writes them', () => {
    expect(parseDuration('40s')).toBe(40_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('10')).toBe(10_000);
    expect(() => parseDuration('soon')).toThrow(/duration/);
  });

  it('registers the command with its flags and defaults', () => {
    const program = new Command();
    registerControllerManagerCommand(program);
    const cmd = program.commands.find((c) => c.name() === 'controller-manager');
    expect(cmd).toBeDefined();
    const flags = cmd!.options.map((o) => o.long);
    expect(flags).toEqual(expect.arrayContaining(['--apiservers', '--token', '--token-file', '--ca-file', '--master', '--node-monitor-grace-period', '--pod-eviction-timeout', '--workers', '--lease-duration']));
    cmd!.parseOptions(['--apiservers', 'a:1', '--node-monitor-grace-period', '10s']);
    expect(cmd!.opts()).toMatchObject({ apiservers: 'a:1', nodeMonitorGracePeriod: 10_000, podEvictionTimeout: 300_000, workers: 5, leaseDuration: 6 });
  });
});
