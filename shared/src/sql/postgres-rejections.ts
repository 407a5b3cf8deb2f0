/**
 * Why PostgreSQL statements that dbward never runs are refused, in words for the requester. Any
 * statement type not in `postgres-statements.ts`'s tables is refused; these are the common ones.
 */
export const REJECTION_REASONS: Readonly<Record<string, string>> = {
  TransactionStmt: "transaction control belongs to the agent, which runs each request in its own transaction",
  GrantStmt: "GRANT and REVOKE change privileges",
  GrantRoleStmt: "GRANT and REVOKE of roles change privileges",
  AlterDefaultPrivilegesStmt: "ALTER DEFAULT PRIVILEGES changes privileges",
  CreateRoleStmt: "CREATE ROLE/USER manages roles",
  AlterRoleStmt: "ALTER ROLE/USER manages roles",
  AlterRoleSetStmt: "ALTER ROLE … SET manages roles",
  DropRoleStmt: "DROP ROLE/USER manages roles",
  CreatedbStmt: "CREATE DATABASE manages databases",
  DropdbStmt: "DROP DATABASE manages databases",
  AlterDatabaseStmt: "ALTER DATABASE manages databases",
  AlterDatabaseSetStmt: "ALTER DATABASE … SET manages databases",
  CreateSchemaStmt: "CREATE SCHEMA manages schemas",
  CreateFunctionStmt: "CREATE FUNCTION/PROCEDURE installs code",
  AlterFunctionStmt: "ALTER FUNCTION/PROCEDURE changes installed code",
  CreateTrigStmt: "CREATE TRIGGER installs code that runs on every change",
  CreateEventTrigStmt: "CREATE EVENT TRIGGER installs code",
  CreateExtensionStmt: "CREATE EXTENSION installs code",
  AlterExtensionStmt: "ALTER EXTENSION changes installed code",
  AlterSystemStmt: "ALTER SYSTEM changes the server configuration",
  LoadStmt: "LOAD loads a shared library into the server",
  AlterOwnerStmt: "ALTER … OWNER TO changes privileges",
  RuleStmt: "CREATE RULE rewrites other statements",
  CreatePolicyStmt: "row security policies change privileges",
  AlterPolicyStmt: "row security policies change privileges",
  DiscardStmt: "DISCARD changes session state",
  CheckPointStmt: "CHECKPOINT is an administrator's command",
  ConstraintsSetStmt: "SET CONSTRAINTS is transaction control, which belongs to the agent",
  SecLabelStmt: "SECURITY LABEL changes access control",
  ListenStmt: "LISTEN changes session state",
  UnlistenStmt: "UNLISTEN changes session state",
  ImportForeignSchemaStmt: "IMPORT FOREIGN SCHEMA reaches other servers",
  CreateForeignServerStmt: "CREATE SERVER reaches other servers",
  CreateUserMappingStmt: "CREATE USER MAPPING stores credentials for other servers",
};

/** `tree`: the statement's walked tree (for EXPLAIN, the tree of the whole EXPLAIN). */
