/** checks: placeholder until the checker lands (replaced before landing). */
import type { CheckFn } from '../runner/run.js';
export const runChecks: CheckFn = async () => [{ check: 'linearizability', result: 'unknown', summary: 'checker not wired yet' }];
