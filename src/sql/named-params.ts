/**
 * Turns `:name` parameters into the driver's placeholders (`$1` for PostgreSQL, `?` otherwise),
 * leaving quoted text, identifiers and PostgreSQL's `::type` casts alone.
 */
export function bindNamed(
  sql: string,
  values: Readonly<Record<string, unknown>>,
  style: 'dollar' | 'question',
): { text: string; params: unknown[] } {
  const params: unknown[] = [];
  let text = '';
  let quote: string | undefined;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (quote) {
      text += c;
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      text += c;
      continue;
    }
    if (c === ':' && sql[i + 1] === ':') {
      text += '::';
      i++;
      continue;
    }
    const name = c === ':' ? /^[A-Za-z_]\w*/.exec(sql.slice(i + 1))?.[0] : undefined;
    if (!name) {
      text += c;
      continue;
    }
    if (!(name in values)) throw new Error(`unknown parameter :${name}`);
    params.push(values[name]);
    text += style === 'dollar' ? `$${params.length}` : '?';
    i += name.length;
  }
  return { text, params };
}
