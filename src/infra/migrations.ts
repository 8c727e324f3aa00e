// Naming and order of migration files, shared by the MySQL and SQLite migrators.

/**
 * The `.sql` names of a directory listing in numeric order; a misnamed `.sql` file is an error rather
 * than something silently skipped.
 */
export function migrationFiles(names: string[]): string[] {
  const sql = names.filter((f) => f.endsWith('.sql'));
  const bad = sql.filter((f) => !MIGRATION_NAME_RE.test(f));
  if (bad.length) throw new Error(`migration files must be named NNN_name.sql: ${bad.join(', ')}`);
  const num = (f: string) => Number(MIGRATION_NAME_RE.exec(f)![1]);
  return sql.sort((a, b) => num(a) - num(b) || (a < b ? -1 : 1));
}

const MIGRATION_NAME_RE = /^(\d{3,})_[\w-]+\.sql$/;
