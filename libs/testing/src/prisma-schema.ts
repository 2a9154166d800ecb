import { readFileSync } from 'node:fs';

/** The parts of schema.prisma that a migration must reproduce, read without Prisma's engines. */
export interface SchemaModel {
  table: string;
  columns: Array<{ name: string; type: string; nullable: boolean; hasDefault: boolean }>;
  primaryKey: string[];
  uniques: string[][];
  indexes: string[][];
  foreignKeys: Array<{ columns: string[]; table: string; references: string[]; onDelete: string }>;
}

const SCALAR_SQL: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  Json: 'jsonb',
  Bytes: 'bytea',
  DateTime: 'timestamp without time zone',
};

const NATIVE_SQL: Record<string, string> = {
  Timestamptz: 'timestamp with time zone',
  Timestamp: 'timestamp without time zone',
  Text: 'text',
};

function list(s: string | undefined): string[] {
  return (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

export function parsePrismaSchema(path: string): SchemaModel[] {
  const text = readFileSync(path, 'utf8').replace(/\/\/.*$/gm, '');
  const blocks = [...text.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)];
  const modelTables = new Map<string, string>();
  for (const [, name, body] of blocks) {
    modelTables.set(name!, /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? name!);
  }
  return blocks.map(([, , body]) => {
    const lines = body!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    const fieldColumns = new Map<string, string>();
    const model: SchemaModel = {
      table: /@@map\("([^"]+)"\)/.exec(body!)?.[1] ?? '',
      columns: [],
      primaryKey: [],
      uniques: [],
      indexes: [],
      foreignKeys: [],
    };
    for (const line of lines.filter((l) => !l.startsWith('@@'))) {
      const m = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line);
      if (!m) continue;
      const [, field, type, isList, optional, attrs = ''] = m;
      if (modelTables.has(type!)) {
        const rel =
          /@relation\(fields:\s*\[([^\]]*)\],\s*references:\s*\[([^\]]*)\](?:,\s*onDelete:\s*(\w+))?/.exec(
            attrs,
          );
        if (rel) {
          model.foreignKeys.push({
            columns: list(rel[1]),
            table: modelTables.get(type!)!,
            references: list(rel[2]),
            onDelete: rel[3] ?? 'Restrict',
          });
        }
        continue;
      }
      const column = /@map\("([^"]+)"\)/.exec(attrs)?.[1] ?? field!;
      fieldColumns.set(field!, column);
      const native = /@db\.(\w+)/.exec(attrs)?.[1];
      // Prisma creates scalar lists as nullable arrays.
      model.columns.push({
        name: column,
        type: isList ? 'ARRAY' : (native && NATIVE_SQL[native]) || SCALAR_SQL[type!] || `unknown:${type}`,
        nullable: !!optional || !!isList,
        hasDefault: /@default\(/.test(attrs),
      });
      if (/@id\b/.test(attrs)) model.primaryKey = [column];
      if (/@unique\b/.test(attrs)) model.uniques.push([column]);
    }
    const cols = (fields: string[]) => fields.map((f) => fieldColumns.get(f) ?? f);
    for (const line of lines.filter((l) => l.startsWith('@@'))) {
      const fields = list(/\[([^\]]*)\]/.exec(line)?.[1]);
      if (line.startsWith('@@id')) model.primaryKey = cols(fields);
      else if (line.startsWith('@@unique')) model.uniques.push(cols(fields));
      else if (line.startsWith('@@index')) model.indexes.push(cols(fields));
    }
    for (const fk of model.foreignKeys) {
      fk.columns = cols(fk.columns);
    }
    return model;
  });
}
