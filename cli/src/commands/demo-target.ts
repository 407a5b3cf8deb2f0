/** The demo's target database: a small SQLite file with sample orders. */
import Database from "better-sqlite3";

export function createDemoTarget(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE IF NOT EXISTS customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id),
      status TEXT NOT NULL, total_cents INTEGER NOT NULL, created_at TEXT NOT NULL);
  `);
  const count = db.prepare("SELECT COUNT(*) AS n FROM orders").get() as { n: number };
  if (count.n === 0) {
    const customers = [
      [1, "Ada Lovelace", "GB"],
      [2, "Grace Hopper", "US"],
      [3, "Edsger Dijkstra", "NL"],
    ] as const;
    const addCustomer = db.prepare("INSERT INTO customers (id, name, country) VALUES (?, ?, ?)");
    const addOrder = db.prepare(
      "INSERT INTO orders (customer_id, status, total_cents, created_at) VALUES (?, ?, ?, ?)",
    );
    db.transaction(() => {
      for (const c of customers) addCustomer.run(...c);
      const statuses = ["paid", "shipped", "refunded", "paid", "stuck"];
      for (let i = 0; i < 12; i++) {
        addOrder.run(
          (i % 3) + 1,
          statuses[i % statuses.length],
          1000 + i * 250,
          `2026-11-${String(10 + i).padStart(2, "0")}T12:00:00Z`,
        );
      }
    })();
  }
  db.close();
}
