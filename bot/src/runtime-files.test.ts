import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findPackageRoot, packageRoot, packageVersion, runtimeFile } from "./runtime-files.ts";

test("finds the dbward package from the sources, past the workspace's own package.json", () => {
  const root = packageRoot();
  assert.equal(runtimeFile("schema.sql"), join(root, "schema.sql"));
  assert.equal(runtimeFile("manifest.yml"), join(root, "manifest.yml"));
  assert.match(packageVersion(), /^\d+\.\d+\.\d+/);
});

test("finds it at any depth below, skipping other packages and unreadable package.json files", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-root-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "dbward", version: "9.9.9" }));
    const deep = join(dir, "dist", "chunks", "a", "b");
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(dir, "dist", "package.json"), "{ not json");
    writeFileSync(join(dir, "dist", "chunks", "package.json"), JSON.stringify({ name: "@dbward/bot" }));
    assert.equal(findPackageRoot(join(deep, "main.mjs")), dir);
    assert.equal(findPackageRoot(join(dir, "dist", "cli.mjs")), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("refuses, saying the installation is incomplete, when no dbward package is above", () => {
  const dir = mkdtempSync(join(tmpdir(), "dbward-noroot-"));
  try {
    assert.throws(
      () => findPackageRoot(join(dir, "x", "cli.mjs")),
      (err: Error & { code?: string }) =>
        err.code === "install.incomplete" && /reinstall dbward/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
