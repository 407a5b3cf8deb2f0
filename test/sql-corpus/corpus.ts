/** Every corpus case, in one list. */
import type { CorpusCase } from "./corpus-case.ts";
import { MYSQL_DDL, MYSQL_READS, MYSQL_WRITES } from "./mysql-corpus.ts";
import { MYSQL_REFUSALS, SQLITE_CASES } from "./mysql-refusals.ts";
import { POSTGRES_READS, POSTGRES_WRITES } from "./postgres-corpus.ts";
import { POSTGRES_DDL } from "./postgres-ddl-corpus.ts";
import { POSTGRES_REFUSALS } from "./postgres-refusals.ts";

export const SQL_CORPUS: readonly CorpusCase[] = [
  ...POSTGRES_READS,
  ...POSTGRES_WRITES,
  ...POSTGRES_DDL,
  ...POSTGRES_REFUSALS,
  ...MYSQL_READS,
  ...MYSQL_WRITES,
  ...MYSQL_DDL,
  ...MYSQL_REFUSALS,
  ...SQLITE_CASES,
];
