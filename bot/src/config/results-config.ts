/**
 * The `results` config section (docs/results.md): who may read a request's result, where the
 * rows are kept, and for how long. Caps on rows and bytes are per execution policy
 * (`row_cap`, `result_max_bytes`), not here.
 */
import { z } from "zod";

/** `requester`, or `role:NAME`, `group:NAME`, `user:ID`. */
const reader = z
  .string()
  .regex(
    /^(requester|(role|group|user):[a-z0-9][a-z0-9_.-]{0,62})$/,
    "must be requester, role:NAME, group:NAME or user:ID",
  );

export const resultsSchema = z.strictObject({
  /**
   * Who may read results besides callers whose roles grant `result.read_any` (operators). An
   * empty list leaves results to those roles alone, requesters included.
   */
  readers: z.array(reader).default(["requester"]),
  /** Where result files live; default `<data_dir>/results`. */
  dir: z.string().min(1).optional(),
  /** How long rows are kept after the execution ended; 0 keeps them until removed by hand. */
  retention_hours: z
    .number()
    .int()
    .min(0)
    .max(24 * 3650)
    .default(24 * 7),
});

export const RESULTS_DEFAULTS = resultsSchema.parse({});

export type ResultsConfig = z.infer<typeof resultsSchema>;
