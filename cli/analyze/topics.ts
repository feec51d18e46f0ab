// Topic templates (`acme/{path.id}/opened`) against subscription patterns: could any topic the
// template expands to match the pattern? A level holding a placeholder can become any one level.
export type TemplateLevel = { literal: string } | { any: true };

export function templateLevels(template: string): TemplateLevel[] {
  return template.split('/').map((l) => (/\{[^}]*\}/.test(l) ? { any: true } : { literal: l }));
}

/** True when some expansion of the template matches `pattern` ('*' one level, '>' one or more). */
export function templateMayMatch(template: string, pattern: string): boolean {
  const t = templateLevels(template);
  const p = pattern.split('/');
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg === '>') return t.length > i;
    const level = t[i];
    if (!level) return false;
    if (seg !== '*' && 'literal' in level && level.literal !== seg) return false;
  }
  return p.length === t.length;
}

/** Whether two subscription patterns (or a pattern and a concrete topic) can match a common topic. */
export function patternsOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const u = x[i];
    const v = y[i];
    if (u === '>' || v === '>') {
      // The other side needs at least one more level from here.
      return (u === '>' ? y.length : x.length) > i;
    }
    if (u === undefined || v === undefined) return u === v;
    if (u !== '*' && v !== '*' && u !== v) return false;
  }
}

/** The template's placeholders, e.g. ['path.id', 'response.body.region']. */
export function placeholders(template: string | undefined): string[] {
  return [...(template ?? '').matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
}
