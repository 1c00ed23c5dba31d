// What the commands share to print: tables.

/** Control characters (new lines, terminal escapes) never reach the terminal from stored text. */
function printable(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ');
}

export function table(rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map(printable));
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
