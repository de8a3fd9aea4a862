/** xml: a check the SVG tests share. */

/** checkWellFormed is a small XML well-formedness check: balanced tags, quoted attributes, escaped text. */
export function checkWellFormed(xml: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  const re = /<([^>]*)>|([^<]+)/g;
  let roots = 0;
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) {
    const [, tag, text] = m;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) problems.push(`unescaped & in ${JSON.stringify(text)}`);
      if (stack.length === 0 && text.trim() !== '') problems.push(`text outside the root: ${text}`);
      continue;
    }
    if (tag === undefined) continue;
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      if (stack.pop() !== name) problems.push(`unbalanced </${name}>`);
      continue;
    }
    const nm = /^([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)$/.exec(tag);
    if (nm === null) {
      problems.push(`malformed tag <${tag}>`);
      continue;
    }
    if (stack.length === 0) roots++;
    if (nm[3] !== '/') stack.push(nm[1]!);
  }
  if (stack.length > 0) problems.push(`unclosed ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
