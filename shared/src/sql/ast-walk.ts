/**
 * Generic walks over parser output. Checks that must not miss anything (side-effect functions,
 * row locks, nested writes) visit every object in the tree instead of following the clauses a
 * statement is known to have: a clause added by a new parser version is still searched.
 */

export type AstObject = Readonly<Record<string, unknown>>;

export function isAstObject(value: unknown): value is AstObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every object under `root` (root included), depth first, without recursion. */
export function collectObjects(root: unknown): AstObject[] {
  return walk(root).objects;
}

export interface PgNodeRef {
  readonly type: string;
  readonly body: AstObject;
}

/** A PostgreSQL statement's tree, walked once and shared by every check. */
export interface PgTree {
  /** Every object below the statement node, wrapped or not. */
  readonly objects: readonly AstObject[];
  /** Every `{ NodeType: body }` node below the statement node. */
  readonly nodes: readonly PgNodeRef[];
  /**
   * Every TypeName, wrapped or not: a typed field (`typeName: {…}`) as often as a node, so
   * found by its shape (`names` and `typemod`).
   */
  readonly typeNames: readonly AstObject[];
}

/**
 * Walks `root` (a statement node's body). libpg-query writes a node as `{ "NodeType": body }`;
 * node types are PascalCase while fields are camelCase or snake_case, which tells them apart.
 * Fields typed as one struct (`intoClause`, `relation`, `larg`) carry no wrapper; they are in
 * `objects` and their nested nodes in `nodes`.
 */
export function pgTree(root: AstObject): PgTree {
  return walk(root);
}

/**
 * The one walk over parser output: every object depth first without recursion, and on the way
 * the `{ NodeType: body }` entries and TypeName-shaped objects (cheap to note while visiting;
 * node-sql-parser trees have neither, so their callers use only `objects`).
 */
function walk(root: unknown): { objects: AstObject[]; nodes: PgNodeRef[]; typeNames: AstObject[] } {
  const objects: AstObject[] = [];
  const nodes: PgNodeRef[] = [];
  const typeNames: AstObject[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (isAstObject(value)) {
      objects.push(value);
      if (typeof value["typemod"] === "number" && Array.isArray(value["names"])) typeNames.push(value);
      for (const key in value) {
        const child = value[key];
        if (typeof child !== "object" || child === null) continue;
        stack.push(child);
        if (isPgNodeType(key) && !Array.isArray(child)) nodes.push({ type: key, body: child as AstObject });
      }
    }
  }
  return { objects, nodes, typeNames };
}

export function isPgNodeType(key: string): boolean {
  const first = key.charCodeAt(0);
  return first >= 65 && first <= 90;
}

/** The single `{ NodeType: body }` entry of a PostgreSQL node, if `value` is one. */
export function pgNode(value: unknown): { readonly type: string; readonly body: AstObject } | undefined {
  if (!isAstObject(value)) return undefined;
  const entries = Object.entries(value);
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) return undefined;
  const [type, body] = first;
  return isPgNodeType(type) && isAstObject(body) ? { type, body } : undefined;
}

export function field(node: AstObject, key: string): AstObject | undefined {
  const value = node[key];
  return isAstObject(value) ? value : undefined;
}

export function text(node: AstObject, key: string): string | undefined {
  const value = node[key];
  return typeof value === "string" ? value : undefined;
}

export function num(node: AstObject, key: string): number | undefined {
  const value = node[key];
  return typeof value === "number" ? value : undefined;
}

export function list(node: AstObject, key: string): readonly unknown[] {
  const value = node[key];
  return Array.isArray(value) ? value : [];
}
