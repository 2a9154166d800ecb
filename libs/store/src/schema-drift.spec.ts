import { resolve } from 'node:path';
import pg from 'pg';
import { createTestDatabase, parsePrismaSchema, type TestDatabase } from '#testing';

/**
 * prisma/schema.prisma and prisma/migrations must describe the same tables: the service applies
 * the migrations, Prisma's client is generated from the schema, and the two must never drift.
 */
let tdb: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  tdb = await createTestDatabase();
  client = new pg.Client({ connectionString: tdb.url });
  await client.connect();
});

afterAll(async () => {
  await client.end();
  await tdb.drop();
});

const models = parsePrismaSchema(resolve('prisma/schema.prisma'));
const DELETE_RULES: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  SetNull: 'SET NULL',
  NoAction: 'NO ACTION',
};

async function rows<T>(sql: string, values: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, values)).rows as T[];
}

async function indexColumns(table: string, unique: boolean): Promise<string[][]> {
  const r = await rows<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
     FROM pg_index i
     JOIN pg_class t ON t.oid = i.indrelid
     CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
     WHERE t.relname = $1 AND t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary AND i.indisunique = $2
     GROUP BY i.indexrelid`,
    [table, unique],
  );
  return r.map((x) => x.cols).sort();
}

describe('schema.prisma and the migrations', () => {
  it('parse into a non-trivial model list', () => {
    expect(models.map((m) => m.table).sort()).toEqual(
      expect.arrayContaining([
        'artifact',
        'artifact_location',
        'edge',
        'registry',
        'repository',
        'signature',
        'tag',
        'webhook_event',
      ]),
    );
  });

  it('have the same tables', async () => {
    const tables = await rows<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations' ORDER BY 1`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(models.map((m) => m.table).sort());
  });

  it.each(models.map((m) => [m.table, m] as const))(
    '%s: same columns, types, nullability and defaults',
    async (table, model) => {
      const cols = await rows<{
        column_name: string;
        data_type: string;
        is_nullable: string;
        column_default: string | null;
      }>(
        `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = $1 ORDER BY column_name`,
        [table],
      );
      expect(
        cols.map((c) => ({
          name: c.column_name,
          type: c.data_type,
          nullable: c.is_nullable === 'YES',
          hasDefault: c.column_default !== null,
        })),
      ).toEqual([...model.columns].sort((a, b) => a.name.localeCompare(b.name)));
    },
  );

  it.each(models.map((m) => [m.table, m] as const))(
    '%s: same primary key, unique and plain indexes',
    async (table, model) => {
      const pk = await rows<{ cols: string[] }>(
        `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
       WHERE i.indrelid = $1::regclass AND i.indisprimary`,
        [table],
      );
      expect(pk[0]?.cols).toEqual(model.primaryKey);
      expect(await indexColumns(table, true)).toEqual([...model.uniques].sort());
      expect(await indexColumns(table, false)).toEqual([...model.indexes].sort());
    },
  );

  it.each(models.map((m) => [m.table, m] as const))('%s: same foreign keys', async (table, model) => {
    const fks = await rows<{
      columns: string[];
      ref_table: string;
      ref_columns: string[];
      delete_rule: string;
    }>(
      `SELECT array_agg(a.attname::text ORDER BY k.ord) AS columns, rt.relname AS ref_table,
              array_agg(ra.attname::text ORDER BY k.ord) AS ref_columns,
              CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'r' THEN 'RESTRICT' WHEN 'n' THEN 'SET NULL' ELSE 'NO ACTION' END AS delete_rule
       FROM pg_constraint c
       JOIN pg_class rt ON rt.oid = c.confrelid
       CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
       JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refnum
       WHERE c.contype = 'f' AND c.conrelid = $1::regclass
       GROUP BY c.oid, rt.relname, c.confdeltype`,
      [table],
    );
    const want = model.foreignKeys.map((fk) => ({
      columns: fk.columns,
      ref_table: fk.table,
      ref_columns: fk.references,
      delete_rule: DELETE_RULES[fk.onDelete],
    }));
    const key = (x: { columns: string[] }) => x.columns.join(',');
    expect([...fks].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      want.sort((a, b) => key(a).localeCompare(key(b))),
    );
  });
});
