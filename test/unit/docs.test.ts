import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/helper.js';

/**
 * The project's markdown pages link to each other with relative links: each must lead to a file that
 * exists and, with a `#anchor`, to a heading of that file as GitHub names it.
 */

const ROOT = resolve(import.meta.dirname, '../..');

/** README.md, every page of docs/ (and its folders, such as docs/connectors/) and the README of each folder under src/. */
function pages(root: string): string[] {
  const found = ['README.md'];
  const docsIn = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.isDirectory()) docsIn(`${dir}/${entry.name}`);
      else if (entry.name.endsWith('.md')) found.push(`${dir}/${entry.name}`);
    }
  };
  if (existsSync(join(root, 'docs'))) docsIn('docs');
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name === 'README.md') found.push(path);
    }
  };
  if (existsSync(join(root, 'src'))) walk('src');
  return found;
}

/** The text outside fenced code blocks, fences blanked out so that line numbers stay. */
function withoutFences(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) {
      fence = marker;
      return '';
    }
    if (fence !== undefined) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) {
        fence = undefined;
      }
      return '';
    }
    return line;
  });
}

/** GitHub's anchor for a heading: its text as shown, lower-cased, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const shown = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '')
    .replace(/(\*\*|__|\*|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}]))/gu, ''); // emphasis, not snake_case
  return shown
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a page has: its headings (a repeated one gets -1, -2...) and HTML ids. */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutFences(text)) {
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]!);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      found.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const html of line.matchAll(/<[a-z]+[^>]*\s(?:id|name)="([^"]+)"/gi)) found.add(html[1]!);
  }
  return found;
}

interface Link {
  page: string;
  line: number;
  target: string;
}

/** The relative links of a page (inline and reference definitions), outside code. */
function links(page: string, text: string): Link[] {
  const found: Link[] = [];
  // Code spans may run over a line break: blank them over the whole text, keeping the line breaks.
  const prose = withoutFences(text)
    .join('\n')
    .replace(/(`+)[\s\S]*?\1/g, (code) => code.replace(/[^\n]/g, ' '));
  prose.split('\n').forEach((line, index) => {
    const targets = [
      ...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]!),
      ...[...line.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((match) => match[1]!),
    ];
    for (const target of targets) {
      if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(target)) continue; // https:, mailto:...
      found.push({ page, line: index + 1, target });
    }
  });
  return found;
}

/** What is wrong with each relative link of the pages under `root`, and how many links were checked. */
function check(root: string): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    let found = anchorsOf.get(file);
    if (!found) {
      found = anchors(readFileSync(file, 'utf8'));
      anchorsOf.set(file, found);
    }
    return found;
  };
  for (const page of pages(root)) {
    const file = join(root, page);
    for (const link of links(page, readFileSync(file, 'utf8'))) {
      checked++;
      const where = `${link.page}:${link.line}: ${link.target}`;
      const hash = link.target.indexOf('#');
      const path = decodeURIComponent(hash < 0 ? link.target : link.target.slice(0, hash));
      const anchor = hash < 0 ? undefined : decodeURIComponent(link.target.slice(hash + 1));
      const to = path === '' ? file : path.startsWith('/') ? join(root, path) : resolve(dirname(file), path);
      if (relative(root, to).startsWith('..')) {
        problems.push(`${where}: leads out of the project`);
        continue;
      }
      if (!existsSync(to)) {
        problems.push(`${where}: no such file`);
        continue;
      }
      if (anchor === undefined) continue;
      if (statSync(to).isDirectory() || !to.endsWith('.md')) {
        problems.push(`${where}: an anchor in a file that is not a markdown page`);
      } else if (!anchorsIn(to).has(anchor)) {
        problems.push(`${where}: no heading #${anchor} in ${relative(root, to)}`);
      }
    }
  }
  return { problems, checked };
}

describe("the documentation's links", () => {
  const result = check(ROOT);

  it('each lead to a file that exists, and to a heading of it', () => {
    expect(result.problems).toEqual([]);
  });

  it('are checked (the pages have links)', () => {
    expect(result.checked).toBeGreaterThan(40);
  });

  it('reach every page of docs/ from the README', () => {
    const docs = pages(ROOT).filter((page) => page.startsWith('docs/'));
    expect(docs.length).toBeGreaterThanOrEqual(8);
    const fromReadme = new Set(
      links('README.md', readFileSync(join(ROOT, 'README.md'), 'utf8')).map(
        (link) => link.target.split('#')[0]!,
      ),
    );
    expect(docs.filter((page) => !fromReadme.has(page))).toEqual([]);
  });
});

describe('the link check', () => {
  it('names headings as GitHub does', () => {
    expect(slug('`sql`: databases and on-premise CRMs')).toBe('sql-databases-and-on-premise-crms');
    expect(slug('Tenants: several customers on one instance')).toBe(
      'tenants-several-customers-on-one-instance',
    );
    expect(slug('`carddav`: CardDAV address books (Radicale, Nextcloud, Baïkal...)')).toBe(
      'carddav-carddav-address-books-radicale-nextcloud-baïkal',
    );
    expect(slug('Checking a phone lookup service: `callcard check` and `callcard simulate`')).toBe(
      'checking-a-phone-lookup-service-callcard-check-and-callcard-simulate',
    );
    expect(slug("`rest`: a record in a CRM's API")).toBe('rest-a-record-in-a-crms-api');
    expect(slug('The **outbox** and `max_attempts` — see [here](x.md)')).toBe(
      'the-outbox-and-max_attempts--see-here',
    );
  });

  it('finds a missing file, a missing heading, and ignores code, in docs/ and its folders', () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir.path, 'docs/sub'), { recursive: true });
      writeFileSync(join(dir.path, 'docs/sub/f.md'), '# F\n\n[back](../a.md#second-part) [gone](../g.md)\n');
      writeFileSync(
        join(dir.path, 'README.md'),
        [
          '# Title',
          '[ok](docs/a.md#second-part) [ok](#title) [ok](docs/a.md#same-1) [web](https://example.com/x.md)',
          '[gone](docs/b.md) [no heading](docs/a.md#third-part) `[code](docs/c.md)`',
          '```md',
          '[fenced](docs/d.md)',
          '```',
          '[ref]: docs/e.md',
        ].join('\n'),
      );
      writeFileSync(
        join(dir.path, 'docs/a.md'),
        '# A\n\n## Second part\n\n## Same\n\n## Same\n\n[up](../README.md)\n',
      );
      const { problems, checked } = check(dir.path);
      expect(problems).toEqual([
        'README.md:3: docs/b.md: no such file',
        'README.md:3: docs/a.md#third-part: no heading #third-part in docs/a.md',
        'README.md:7: docs/e.md: no such file',
        'docs/sub/f.md:3: ../g.md: no such file',
      ]);
      expect(checked).toBe(9);
    } finally {
      dir.remove();
    }
  });
});
