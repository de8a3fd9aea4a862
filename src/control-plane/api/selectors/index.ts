/**
 * selectors: the surface of label and field selectors (parse, match, print).
 */
export * from './labels.js';
export * from './fields.js';
