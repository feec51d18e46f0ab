// The bank mesh fixture (a copy of the example that the suites own, so a user's edit of
// examples/bank/mesh.yaml never fails npm test) and a strict way to derive variants of it.
import { readFileSync } from 'node:fs';

export const BANK_FILE = new URL('../fixtures/bank-mesh.yaml', import.meta.url).pathname;
export const BANK = readFileSync(BANK_FILE, 'utf8');

/** Applies exact text replacements; throws when one finds nothing, so no test passes on an unedited file. */
export function edit(text: string, ...pairs: [from: string, to: string][]): string {
  for (const [from, to] of pairs) {
    if (!text.includes(from))
      throw new Error(`test edit: ${JSON.stringify(from)} not found in the mesh text`);
    text = text.replace(from, to);
  }
  return text;
}
