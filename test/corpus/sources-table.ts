import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { corpusPath } from './trust-corpus.helpers.js';

/**
 * The file table of a corpus folder's SOURCES.md: the rows of every Markdown table whose header has a
 * `local file` column, the file named by the first `code span` of that cell, and the `format` column
 * when the table has one. The table, not a list in the test, says which files a copy of the corpus
 * holds, so a copy made before a file was added runs only what it lists.
 */

export interface SourceRow {
  file: string;
  /** The declared format cell (`spdx-3.0.1`, `openvex-0.2.0`, …); null when the cell is empty. */
  format: string | null;
}

export interface SourcesTable {
  /** Whether the folder has a SOURCES.md at all. */
  present: boolean;
  /** Whether its file table has a `format` column (older copies' tables have none). */
  declaresFormat: boolean;
  rows: SourceRow[];
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());

export function parseSourcesTable(markdown: string): Omit<SourcesTable, 'present'> {
  const lines = markdown.split(/\r?\n/);
  const rows: SourceRow[] = [];
  let declaresFormat = false;
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|')) continue;
    const header = cells(lines[i]!).map((c) => c.toLowerCase());
    const fileAt = header.indexOf('local file');
    if (fileAt < 0 || !/^\|?[\s|:-]+$/.test(lines[i + 1]?.trim() ?? '')) continue;
    const formatAt = header.indexOf('format');
    declaresFormat ||= formatAt >= 0;
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) {
      const row = cells(lines[j]!);
      const file = /`([^`]+)`/.exec(row[fileAt] ?? '')?.[1];
      if (!file) throw new Error(`SOURCES.md line ${j + 1}: no \`file name\` in the local file cell`);
      rows.push({ file, format: formatAt >= 0 ? row[formatAt] || null : null });
    }
    i = j - 1;
  }
  return { declaresFormat, rows };
}

export function sourcesTable(dir: string): SourcesTable {
  const file = corpusPath(dir, 'SOURCES.md');
  if (!existsSync(file)) return { present: false, declaresFormat: false, rows: [] };
  return { present: true, ...parseSourcesTable(readFileSync(file, 'utf8')) };
}

/** The folder's entries other than SOURCES.md, sorted; none when the folder is absent. */
export function folderFiles(dir: string): string[] {
  const path = corpusPath(dir);
  if (!existsSync(path)) return [];
  return readdirSync(path)
    .filter((f) => f !== 'SOURCES.md')
    .sort();
}

/**
 * The tests every table-driven folder gets: each file is listed and each listed file exists, and for
 * each row with a declared format, `check` with the row's expectation. A listed file without an
 * expectation fails; an expectation for a file the table does not list is not run.
 */
export function describeListedFiles<E>(
  dir: string,
  expectations: Readonly<Record<string, E>>,
  check: (row: SourceRow & { format: string }, expected: E) => void,
): void {
  const table = sourcesTable(dir);

  describe(`${dir}/SOURCES.md`, () => {
    it('lists every file of the folder, and every file it lists exists', () => {
      const listed = [...new Set(table.rows.map((r) => r.file))].sort();
      expect(folderFiles(dir)).toEqual(listed);
      // A folder without SOURCES.md is a copy made before the folder existed: it must hold nothing.
      if (!table.present) expect(existsSync(corpusPath(dir))).toBe(false);
    });

    if (!table.declaresFormat) return;
    for (const row of table.rows) {
      it(`${row.file} (${row.format ?? 'no format'}) parses as declared, with the facts read from it`, () => {
        expect(existsSync(corpusPath(dir, row.file))).toBe(true);
        expect(row.format).not.toBeNull();
        expect(Object.keys(expectations)).toContain(row.file);
        check({ ...row, format: row.format! }, expectations[row.file]!);
      });
    }
  });
}
