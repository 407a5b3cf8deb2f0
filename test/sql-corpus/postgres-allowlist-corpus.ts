/**
 * PostgreSQL cases of the allowlist (a read is proven, not presumed): analyst queries that must
 * stay reads, and hostile texts that hide a side effect or an unproven name in every clause and
 * spelling. `postgres-corpus.ts` adds them to its reads and writes.
 */
import { ADVISORY_LOCK, corpus, probe, SLEEP, type CorpusCase } from "./corpus-case.ts";

const { read, write } = corpus("postgres");

const XID = probe("SELECT coalesce(pg_current_xact_id_if_assigned()::text, 'none')");
const SEQUENCE = probe("SELECT last_value::text || is_called::text FROM accounts_id_seq");
const LOCK = "SELECT pg_try_advisory_lock(42)";
const NO_SUCH =
  "the test server has no such function, operator or type; a user-defined one could do anything";
const NOT_ON_15 =
  "PostgreSQL 15 reads it as a call of a function the test server does not have; a user's function of that name would run";

export const ALLOWLIST_READS: readonly CorpusCase[] = [
  read(
    "SELECT owner, sum(balance) OVER (PARTITION BY owner ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), lag(balance) OVER w, rank() OVER w, ntile(2) OVER w FROM accounts WINDOW w AS (ORDER BY balance)",
    "window functions with frames and named windows are a read",
  ),
  read(
    `SELECT jsonb_build_object('id', id, 'owner', owner) -> 'owner', '{"a":{"b":[1,2]}}'::jsonb #>> '{a,b,1}', '{"a":1}'::jsonb ? 'a', '{"a":1}'::jsonb @> '{"a":1}', '{"a":1}'::json ->> 'a' FROM accounts`,
    "JSON and JSONB operators are a read",
  ),
  read(
    `SELECT jsonb_agg(to_jsonb(a) - 'note'), json_object_agg(owner, balance), jsonb_pretty(jsonb_set('{"a":1}', '{a}', '2')), jsonb_path_query_array('{"a":[1,2,3]}', '$.a[*] ? (@ > 1)') FROM accounts a`,
    "JSON aggregates, jsonb_set and jsonpath are a read",
  ),
  read(
    `SELECT x.a, x.b, e.key, e.value FROM jsonb_to_recordset('[{"a":1,"b":"x"}]') AS x(a int, b text), jsonb_each('{"k":1}') e`,
    "JSON table functions with a column definition list are a read",
  ),
  read(
    "SELECT now() - interval '1 day', date_trunc('month', now()), extract(epoch FROM now() - timestamp '2024-01-01'), age(timestamp '2024-01-01'), to_char(current_date, 'YYYY-MM-DD'), date_bin('15 minutes', now(), timestamp '2001-01-01'), now() AT TIME ZONE 'UTC', current_date + 7",
    "date and time arithmetic is a read",
  ),
  read(
    "SELECT make_interval(days => 3), concat(VARIADIC ARRAY['a', 'b']), format('%s-%s', VARIADIC ARRAY['x', 'y'])",
    "named arguments and VARIADIC on vetted built-ins are a read",
  ),
  read(
    "SELECT regexp_replace(owner, '[aeiou]', '*', 'g'), owner ~* '^a', owner !~ 'z', split_part('a,b', ',', 2), initcap(owner), left(owner, 2), format('%s has %s', owner, balance), substring(owner FROM 1 FOR 2), position('n' IN owner), owner SIMILAR TO '(ann|bob)%', owner ILIKE 'A%', translate(owner, 'ab', 'xy') FROM accounts",
    "string and regular-expression functions are a read",
  ),
  read(
    "SELECT array_agg(id ORDER BY id DESC), array_length(ARRAY[1, 2, 3], 1), ARRAY[1, 2] || 3, (ARRAY[1, 2, 3])[2:3], 2 = ANY (ARRAY[1, 2]), ARRAY[1, 2] @> ARRAY[1], cardinality(ARRAY[1]), array_position(ARRAY['a', 'b'], 'b') FROM accounts",
    "array constructors, slices and operators are a read",
  ),
  read("SELECT unnest(ARRAY['x', 'y']) AS v, generate_subscripts(ARRAY[1, 2], 1)", "unnest is a read"),
  read(
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SEARCH DEPTH FIRST BY n SET ord SELECT n, ord FROM t",
    "a recursive CTE with SEARCH is a read",
  ),
  read(
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) CYCLE n SET is_cycle USING path SELECT n FROM t",
    "a recursive CTE with CYCLE is a read",
  ),
  read(
    "WITH m AS MATERIALIZED (SELECT owner FROM accounts), n AS NOT MATERIALIZED (SELECT * FROM m) SELECT * FROM n",
    "MATERIALIZED and NOT MATERIALIZED CTEs are a read",
  ),
  read(
    "SELECT owner, note, count(*), grouping(owner, note) FROM accounts GROUP BY GROUPING SETS ((owner), (note), ())",
    "GROUPING SETS are a read",
  ),
  read(
    "SELECT owner, count(*) FROM accounts GROUP BY ROLLUP (owner) UNION ALL SELECT owner, count(*) FROM accounts GROUP BY CUBE (owner)",
    "ROLLUP and CUBE are a read",
  ),
  read(
    "SELECT count(*) FILTER (WHERE balance > 10), sum(balance) FILTER (WHERE owner <> 'x') FROM accounts",
    "FILTER is a read",
  ),
  read(
    "SELECT DISTINCT ON (owner) owner, balance FROM accounts ORDER BY owner, balance DESC",
    "DISTINCT ON is a read",
  ),
  read(
    "SELECT a.owner, l.amount FROM accounts a CROSS JOIN LATERAL (SELECT amount FROM ledger WHERE account_id = a.id ORDER BY amount DESC LIMIT 1) l",
    "a LATERAL subquery is a read",
  ),
  read(
    "SELECT a.id, g.n FROM accounts a LEFT JOIN LATERAL generate_series(1, a.id) AS g(n) ON true",
    "a LATERAL set-returning function is a read",
  ),
  read(
    "SELECT to_tsvector('english', coalesce(note, owner)) @@ to_tsquery('english', 'ann | bob'), ts_rank(to_tsvector(owner), plainto_tsquery('ann')), websearch_to_tsquery('english', '\"a b\" -c'), ts_headline('english', owner, to_tsquery('ann')) FROM accounts",
    "full-text matching is a read",
  ),
  read(
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY balance), mode() WITHIN GROUP (ORDER BY owner), stddev(balance), string_agg(owner, ', ' ORDER BY owner), bool_and(balance > 0), max(balance), avg(balance)::numeric(10, 2) FROM accounts",
    "ordered-set and statistical aggregates are a read",
  ),
  read(
    "SELECT round(balance * 1.1, 2), abs(-balance), power(2, 10), sqrt(16), ln(10), greatest(1, balance), least(1, 2), mod(7, 3), 7 % 3, 2 ^ 8, |/ 25.0, @ -5, width_bucket(balance, 0, 100, 10), ceil(1.2), floor(1.8), div(7, 2) FROM accounts",
    "math functions and operators are a read",
  ),
  read(
    "SELECT id::text, balance::int, CAST(owner AS varchar(10)), '2024-01-01'::date, '1 day'::interval, '{1,2}'::int[], '192.168.0.1'::inet, int '1', '[1,3)'::int4range, '{\"a\":1}'::jsonb, 'accounts'::regclass, '00000000-0000-0000-0000-000000000000'::uuid FROM accounts",
    "casts to built-in types in every spelling are a read",
  ),
  read(
    "SELECT '1'::pg_catalog.int4, 'x'::information_schema.sql_identifier, 1::\"int4\", \"pg_catalog\".\"lower\"('X'), PG_CATALOG.upper('x'), 1 OPERATOR(pg_catalog.+) 2",
    "pg_catalog-qualified and quoted lower-case names are the built-ins",
  ),
  read("SELECT 1 +++ 2", "PostgreSQL's lexer reads +++ as three built-in + operators, so it is a read"),
  read("SELECT U&\"\\006Cower\"('X')", "a Unicode-escaped identifier spelling lower is the built-in lower"),
  read(
    "SELECT (SELECT max(amount) FROM ledger) FROM accounts WHERE id IN (SELECT account_id FROM ledger) GROUP BY id HAVING count(*) > (SELECT 0) ORDER BY (SELECT 1) LIMIT (SELECT 5) OFFSET (SELECT 0)",
    "subqueries in every clause are a read",
  ),
  read(
    "SELECT lower(owner) FROM accounts INTERSECT SELECT lower(owner) FROM accounts EXCEPT SELECT upper('x')",
    "INTERSECT and EXCEPT of reads are a read",
  ),
  read("SELECT id FROM accounts ORDER BY id USING >", "ORDER BY … USING a built-in operator is a read"),
  read(
    "SELECT 1 = ANY (SELECT id FROM accounts), 2 > ALL (SELECT 1)",
    "built-in operators over subqueries are a read",
  ),
  read('SELECT owner COLLATE "C" FROM accounts ORDER BY owner COLLATE "C"', "COLLATE is a read"),
  read(
    "SELECT * FROM XMLTABLE('/r/i' PASSING xmlparse(document '<r><i a=\"1\"/></r>') COLUMNS a int PATH '@a'), xmlelement(name x, xmlattributes(1 AS y))",
    "XMLTABLE and XML constructors are a read",
  ),
  read(
    "SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY['a', 'b', 'c'])) WITH ORDINALITY AS t(n, s, o)",
    "ROWS FROM with vetted functions is a read",
  ),
  read("VALUES (lower('A'), now()::date)", "VALUES with vetted functions is a read"),
  read("SELECT * FROM accounts TABLESAMPLE bernoulli (50) REPEATABLE (1)", "TABLESAMPLE BERNOULLI is a read"),
  read("SELECT g, random() FROM generate_series(1, 5) g", "generate_series and random() are a read"),
  read(
    "SELECT clock_timestamp() - now(), statement_timestamp(), gen_random_uuid() IS NOT NULL",
    "clock functions and a random UUID are a read",
  ),
  read(
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position",
    "information_schema.columns is a read",
  ),
  read(
    "SELECT relname, pg_size_pretty(pg_total_relation_size(c.oid)), obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pg_catalog' LIMIT 5",
    "pg_catalog tables and size functions are a read",
  ),
  read(
    "SELECT pid, state, query FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    "pg_stat_activity is a read",
  ),
  read("SELECT name, setting FROM pg_settings WHERE name = 'work_mem'", "pg_settings is a read"),
  read("SELECT * FROM pg_replication_origin_status", "listing replication origins is a read"),
  read(
    "SELECT pg_get_viewdef('accounts_rich'::regclass), pg_get_indexdef('accounts_balance_idx'::regclass), has_table_privilege('accounts', 'SELECT')",
    "catalogue inspection functions are a read",
  ),
  read("SELECT locktype, mode FROM pg_locks", "pg_locks is a read"),
  read(
    "EXPLAIN (FORMAT JSON, COSTS false) SELECT * FROM accounts WHERE owner = lower('ANN')",
    "EXPLAIN with options is a read",
  ),
  read("EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM accounts", "EXPLAIN ANALYZE of a read is a read"),
  read("EXPLAIN VERBOSE SELECT lower(owner) FROM accounts", "EXPLAIN VERBOSE is a read"),
  read("SHOW ALL", "SHOW ALL is a read"),
  read("SHOW TRANSACTION ISOLATION LEVEL", "SHOW TRANSACTION ISOLATION LEVEL is a read"),
  read("SET work_mem = '256MB'; SELECT count(*) FROM accounts", "work_mem at the ceiling is allowed"),
  read(
    "SET hash_mem_multiplier = 2; SET temp_buffers = '64MB'; SELECT 1",
    "bounded memory settings are allowed",
  ),
];

export const ALLOWLIST_WRITES: readonly CorpusCase[] = [
  write("SELECT my_func()", "a made-up function is never a read", {
    unprovable: NO_SUCH,
    rule: "unverified_call",
  }),
  write("SELECT * FROM my_table_func()", "a made-up table function is never a read", { unprovable: NO_SUCH }),
  write("SELECT 1 ### 2", "a made-up operator is never a read", {
    unprovable: NO_SUCH,
    rule: "unverified_call",
  }),
  write("SELECT 'x'::mytype", "a cast to a user-defined type is never a read", {
    unprovable: NO_SUCH,
    rule: "unverified_call",
  }),
  write("SELECT CAST(1 AS mytype)", "CAST to a user-defined type is never a read", { unprovable: NO_SUCH }),
  write("SELECT mytype 'x'", "a typed literal of a user-defined type is never a read", {
    unprovable: NO_SUCH,
  }),
  write("SELECT '{}'::mytype[]", "an array of a user-defined type is never a read", { unprovable: NO_SUCH }),
  write(
    "SELECT * FROM generate_series(1, 2) AS g(x mytype)",
    "a user-defined type in a column list is never a read",
    {
      unprovable: NO_SUCH,
    },
  ),
  write("SELECT 1::public.int4", "a type named in another schema is not the built-in", {
    unprovable: NO_SUCH,
  }),
  write("SELECT 'x'::\"TEXT\"", "a quoted upper-case type name is not the built-in", { unprovable: NO_SUCH }),
  write("SELECT \"LOWER\"('x')", "a quoted upper-case function name is not the built-in", {
    unprovable: NO_SUCH,
  }),
  write("SELECT \"PG_CATALOG\".lower('x')", "a quoted upper-case schema is not pg_catalog", {
    unprovable: NO_SUCH,
  }),
  write("SELECT public.lower('x')", "a function qualified with another schema is not the built-in", {
    unprovable: NO_SUCH,
  }),
  write("SELECT 1 OPERATOR(public.+) 2", "an operator in another schema is not the built-in", {
    unprovable: NO_SUCH,
  }),
  write(
    "SELECT * FROM accounts ORDER BY id USING ###",
    "ORDER BY … USING a made-up operator is never a read",
    {
      unprovable: NO_SUCH,
    },
  ),
  write(
    "SELECT * FROM accounts ORDER BY id USING OPERATOR(public.<)",
    "ORDER BY … USING another schema's operator",
    {
      unprovable: NO_SUCH,
    },
  ),
  write(
    "SELECT string_agg(owner, ',' ORDER BY owner USING ###) FROM accounts",
    "an aggregate's USING operator is seen",
    {
      unprovable: NO_SUCH,
    },
  ),
  write("SELECT 1 ### ANY (SELECT 1)", "a made-up operator over a subquery is never a read", {
    unprovable: NO_SUCH,
  }),
  write("SELECT 1 OPERATOR(public.=) ALL (SELECT 1)", "another schema's operator over a subquery", {
    unprovable: NO_SUCH,
  }),
  write(
    "SELECT * FROM accounts TABLESAMPLE system_rows(1)",
    "an extension's sampling method is never a read",
    {
      unprovable: NO_SUCH,
    },
  ),
  write("EXPLAIN SELECT my_func()", "plain EXPLAIN of an unproven call is not a read", {
    unprovable: NO_SUCH,
  }),
  write("SELECT JSON_ARRAY()", "SQL/JSON JSON_ARRAY() is a function call on PostgreSQL 15", {
    unprovable: NOT_ON_15,
  }),
  write("SELECT JSON_SCALAR(1)", "SQL/JSON JSON_SCALAR is a function call on PostgreSQL 15", {
    unprovable: NOT_ON_15,
  }),
  write("SELECT JSON_VALUE('1'::jsonb, '$')", "SQL/JSON JSON_VALUE is a function call on PostgreSQL 15", {
    unprovable: NOT_ON_15,
  }),
  write("SELECT domain_in('1', 'int4'::regtype, -1)", "domain_in runs the input of a type named by OID", {
    unprovable:
      "a domain's CHECK would run here; the scratch schema has no domain with a function in its CHECK",
  }),
  write(
    "SELECT record_in('(1)', 'accounts'::regclass::oid, -1)",
    "record_in runs the input of a row type by OID",
    {
      unprovable: "the scratch table's columns have no domain, so its input runs only built-in code",
    },
  ),
  write("SELECT int4in('1')", "type input functions are left off the allowlist", {
    unprovable: "int4's own input changes nothing; input functions are left off as a family",
  }),
  write("SELECT * FROM pg_file_settings", "pg_file_settings reads the server's configuration files", {
    unprovable: "reading a file changes nothing the test can observe",
    rule: "side_effect_function",
  }),
  write(
    "SELECT * FROM test.pg_catalog.pg_file_settings",
    "a database-qualified pg_file_settings is the same view",
    {
      unprovable: "reading a file changes nothing the test can observe",
    },
  ),
  write("SELECT * FROM pg_catalog.pg_hba_file_rules", "pg_hba_file_rules reads pg_hba.conf", {
    unprovable: "reading a file changes nothing the test can observe",
  }),
  write("SELECT * FROM accounts ORDER BY pg_try_advisory_lock(42)", "an advisory lock in ORDER BY", {
    effect: ADVISORY_LOCK,
  }),
  write("SELECT count(*) FROM accounts GROUP BY pg_try_advisory_lock(42)", "an advisory lock in GROUP BY", {
    effect: ADVISORY_LOCK,
  }),
  write("SELECT count(*) FROM accounts HAVING pg_try_advisory_lock(42)", "an advisory lock in HAVING", {
    effect: ADVISORY_LOCK,
  }),
  write(
    "SELECT sum(id) OVER w FROM accounts WINDOW w AS (ORDER BY pg_try_advisory_lock(42))",
    "an advisory lock in a WINDOW clause",
    { effect: ADVISORY_LOCK },
  ),
  write("SELECT * FROM accounts LIMIT pg_try_advisory_lock(42)::int + 1", "an advisory lock in LIMIT", {
    effect: ADVISORY_LOCK,
  }),
  write("SELECT DISTINCT ON (pg_try_advisory_lock(42)) id FROM accounts", "an advisory lock in DISTINCT ON", {
    effect: ADVISORY_LOCK,
  }),
  write(
    "SELECT count(*) FILTER (WHERE pg_try_advisory_lock(42)) FROM accounts",
    "an advisory lock in FILTER",
    {
      effect: ADVISORY_LOCK,
    },
  ),
  write(
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY pg_try_advisory_lock(42)::int) FROM accounts",
    "an advisory lock in WITHIN GROUP",
    { effect: ADVISORY_LOCK },
  ),
  write(
    `WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 2) SEARCH DEPTH FIRST BY n SET ord ${LOCK} FROM t`,
    "an advisory lock after a CTE with SEARCH",
    { effect: ADVISORY_LOCK },
  ),
  write(
    "WITH l AS (SELECT pg_try_advisory_lock(42) AS got) SELECT * FROM l",
    "an advisory lock inside a CTE",
    { effect: ADVISORY_LOCK },
  ),
  write("SELECT 1 UNION SELECT pg_try_advisory_lock(42)::int", "an advisory lock in a UNION branch", {
    effect: ADVISORY_LOCK,
  }),
  write("VALUES (pg_try_advisory_lock(42))", "an advisory lock in VALUES", { effect: ADVISORY_LOCK }),
  write(
    "SELECT * FROM ROWS FROM (generate_series(1, 1), pg_try_advisory_lock(42))",
    "an advisory lock in ROWS FROM",
    { effect: ADVISORY_LOCK },
  ),
  write(`SELECT * FROM accounts a, LATERAL (${LOCK} AS got) l`, "an advisory lock in a LATERAL subquery", {
    effect: ADVISORY_LOCK,
  }),
  write(
    "SELECT * FROM XMLTABLE('/r' PASSING '<r/>' COLUMNS a text PATH 'x' DEFAULT pg_try_advisory_lock(42)::text)",
    "an advisory lock in an XMLTABLE column default",
    { effect: ADVISORY_LOCK },
  ),
  write("SELECT 'a' COLLATE \"C\" || pg_try_advisory_lock(42)::text", "an advisory lock beside COLLATE", {
    effect: ADVISORY_LOCK,
  }),
  write('SELECT "pg_catalog"."pg_try_advisory_lock"(42)', "a quoted qualified advisory lock", {
    effect: ADVISORY_LOCK,
  }),
  write("SELECT PG_CATALOG.PG_TRY_ADVISORY_LOCK(42)", "an upper-case qualified advisory lock", {
    effect: ADVISORY_LOCK,
  }),
  write("SELECT pg_try_advisory_xact_lock_shared(42)", "a shared transaction-level advisory lock", {
    effect: ADVISORY_LOCK,
  }),
  write("EXPLAIN ANALYZE SELECT pg_try_advisory_lock(42)", "EXPLAIN ANALYZE runs its advisory lock", {
    effect: ADVISORY_LOCK,
  }),
  write("EXPLAIN (ANALYSE) SELECT pg_try_advisory_lock(42)", "EXPLAIN (ANALYSE) runs its advisory lock", {
    effect: ADVISORY_LOCK,
  }),
  write("EXPLAIN SELECT pg_try_advisory_lock(42)", "plain EXPLAIN of an advisory lock is not a read", {
    unprovable: "plain EXPLAIN only plans; a volatile call is not folded at plan time",
  }),
  write(
    'SELECT "pg_catalog"."setval"(\'accounts_id_seq\', 101)',
    "a quoted qualified setval moves a sequence",
    {
      effect: SEQUENCE,
    },
  ),
  write(
    "SELECT PG_CATALOG.setval('accounts_id_seq', 102)",
    "an upper-case qualified setval moves a sequence",
    {
      effect: SEQUENCE,
    },
  ),
  write('SELECT U&"pg\\005Fsleep"(0.2)', "a Unicode-escaped pg_sleep still sleeps", { effect: SLEEP }),
  write("SELECT * FROM pg_catalog.pg_sleep(0.2)", "pg_sleep in FROM sleeps", { effect: SLEEP }),
  write(
    "SELECT * FROM ts_stat('SELECT to_tsvector(''a'') WHERE pg_try_advisory_lock(42)')",
    "ts_stat runs the query it is given",
    { effect: ADVISORY_LOCK, rule: "side_effect_function" },
  ),
  write(
    "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, ''b''::tsquery WHERE pg_try_advisory_lock(42)')",
    "ts_rewrite runs the query it is given",
    { effect: ADVISORY_LOCK },
  ),
  write(
    "SELECT query_to_xml(query => 'SELECT pg_try_advisory_lock(42)', nulls => true, tableforest => false, targetns => '')",
    "query_to_xml with named arguments runs its query",
    { effect: ADVISORY_LOCK },
  ),
  write("SELECT table_to_xml('accounts', true, false, '')", "table_to_xml runs a query inside the function", {
    unprovable: "the query it builds only reads the scratch table",
  }),
  write("SELECT pg_logical_emit_message(true, 'accounts_p', 'x')", "pg_logical_emit_message writes WAL", {
    effect: XID,
  }),
  write("SELECT lo_from_bytea(0, 'x')", "lo_from_bytea makes a large object", {
    effect: probe("SELECT count(*) FROM pg_largeobject_metadata"),
  }),
  write("SELECT gin_clean_pending_list('accounts_balance_idx')", "gin_clean_pending_list rewrites an index", {
    unprovable: "the scratch schema has no GIN index",
  }),
  write(
    "SELECT brin_summarize_new_values('accounts_balance_idx')",
    "brin_summarize_new_values rewrites an index",
    {
      unprovable: "the scratch schema has no BRIN index",
    },
  ),
  write("SELECT pg_reload_conf()", "pg_reload_conf reloads the server's configuration", {
    unprovable: "a reload of an unchanged configuration leaves nothing to observe",
  }),
  write("SELECT pg_switch_wal()", "pg_switch_wal acts on the WAL", {
    unprovable: "switching the test server's WAL file leaves nothing the test observes",
  }),
  write(
    "SELECT pg_create_physical_replication_slot('accounts_slot')",
    "creating a replication slot is never a read",
    { unprovable: "a slot outlives the rollback, so the test does not create one" },
  ),
  write("SELECT pg_stat_reset()", "pg_stat_reset resets statistics", {
    unprovable: "resetting the test server's statistics would disturb other suites",
  }),
  write("SELECT pg_read_binary_file('PG_VERSION')", "pg_read_binary_file reads server files", {
    unprovable: "reading a file changes nothing the test can observe",
  }),
  write("SELECT pg_stat_file('PG_VERSION')", "pg_stat_file looks at server files", {
    unprovable: "looking at a file changes nothing the test can observe",
  }),
];
