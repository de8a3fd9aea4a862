/**
 * Objects the real kubectl v1.32 generates (`kubectl create ... --dry-run=client -o json`),
 * defaulted as the registry defaults them, must validate without a single error: a false
 * positive here would refuse a plain kubectl command.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { applyDefaults } from '../../../src/control-plane/api/defaults.js';
import { resourceByKind } from '../../../src/control-plane/api/resources.js';
import type { KubeObject } from '../../../src/control-plane/api/types.js';
import { formatFieldError, validateObject } from '../../../src/control-plane/api/validation/index.js';

const cases = (JSON.parse(readFileSync(new URL('./kubectl-objects.json', import.meta.url), 'utf8')) as { cases: Array<{ command: string; object: KubeObject }> }).cases;

describe('objects kubectl creates validate clean', () => {
  for (const c of cases) {
    it(c.command, () => {
      const res = resourceByKind(c.object.apiVersion, c.object.kind);
      expect(res, `${c.object.apiVersion} ${c.object.kind} is served`).toBeDefined();
      if (res === undefined) return;
      const o: KubeObject = res.namespaced ? { ...c.object, metadata: { ...c.object.metadata, namespace: 'default' } } : c.object;
      const defaulted = applyDefaults(res, o);
      expect(validateObject(res, defaulted).map(formatFieldError)).toEqual([]);
      // An update that changes nothing is valid too.
      expect(validateObject(res, defaulted, defaulted).map(formatFieldError)).toEqual([]);
    });
  }
});
