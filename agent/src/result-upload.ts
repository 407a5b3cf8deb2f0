/**
 * The sink a job's rows stream into: it applies the execution policy's caps (rows and bytes),
 * packs rows into chunks of about `chunkBytes`, and sends them to the bot in order (shared
 * protocol: result chunks). Rows that come as values are written as NDJSON; rows a driver gives
 * as CSV (PostgreSQL COPY, MySQL/MariaDB text) are copied as they are, a run of whole rows at a
 * time, behind the chunk's `%csv <kinds>` head line (shared result-csv.ts). At most one chunk is
 * in flight while the next one fills; a full chunk waits for the one before it, and the driver
 * waits for the sink, so the database, the agent and the bot move at the pace of the slowest
 * (backpressure) and the agent holds at most two chunks of rows.
 *
 * Truncation is reported, never silent: `rows` when the row cap stopped the result, `bytes` for
 * the byte cap (or one row larger than a chunk's rows may be), `undelivered` when a chunk could not be
 * delivered (the bot was unreachable for longer than the retry time). The summary counts only
 * chunks the bot acknowledged.
 */
import {
  csvChunkHead,
  MAX_RESULT_CHUNK_BYTES,
  type ColumnKind,
  type ResultTruncation,
  type StreamedResultSummary,
} from "@dbward/shared";
import type { CsvRows, RowSink } from "./drivers/driver.ts";

/** Why the upload stopped asking for rows, other than a cap. */
export type UploadStop = "cancel" | "undelivered";

export interface ResultUploadOptions {
  readonly rowCap: number;
  readonly maxBytes: number;
  /** Target size of one chunk; never above MAX_RESULT_CHUNK_BYTES. */
  readonly chunkBytes?: number;
  /**
   * Sends one chunk, retrying as it sees fit; the answer's `cancel` stops the job. Chunk 0 comes
   * with the column names, for a reader following the result (shared result-columns-header.ts).
   */
  readonly send: (seq: number, ndjson: Buffer, columns?: readonly string[]) => Promise<{ cancel: boolean }>;
  /** The bot asked to cancel (`cancel`), or a chunk could not be delivered (`undelivered`). */
  readonly onStop: (why: UploadStop, err?: unknown) => void;
}

/**
 * Each chunk costs the bot a request, an fsync and a state write, about as long as the database
 * takes to produce a megabyte of rows: at 1 MB the upload waited on them; at 4 MB they hide
 * behind the next chunk filling. Two chunks in memory stay well under the RSS budget.
 */
export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

export class ResultUpload implements RowSink {
  private names: string[] = [];
  /** The head line of every CSV chunk, once the columns are known. */
  private csvHead: Buffer | undefined;
  /** The chunk filling up: its rows' NDJSON is written straight into bytes, not kept as strings. */
  private chunk: Buffer = Buffer.alloc(0);
  private chunkUsed = 0;
  private chunkRows = 0;
  /** A chunk buffer whose request has ended, for the next chunk. */
  private spare: Buffer | undefined;
  private seq = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private acceptedRows = 0;
  private acceptedBytes = 0;
  private delivered = { chunks: 0, rows: 0, bytes: 0 };
  private truncatedBy: ResultTruncation | null = null;
  private stopped = false;
  private readonly chunkBytes: number;

  constructor(private readonly options: ResultUploadOptions) {
    this.chunkBytes = Math.min(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, MAX_RESULT_CHUNK_BYTES);
  }

  columns(names: string[], kinds?: readonly ColumnKind[]): void {
    this.names = names;
    this.csvHead = Buffer.from(csvChunkHead(kinds ?? names.map(() => "text")));
  }

  /** Copies CSV rows into chunks, a run of whole rows at a time; the caps cut between rows. */
  async csv(batch: CsvRows): Promise<boolean> {
    const head = this.csvHead ?? Buffer.from(csvChunkHead([]));
    const { bytes, ends } = batch;
    /** Rows from `from` up to `at` are counted in the chunk but not copied into it yet. */
    let from = 0;
    let at = 0;
    for (const end of ends) {
      const size = end - at;
      if (this.stopped) break;
      if (this.acceptedRows >= this.options.rowCap) {
        this.copyRun(bytes, from, at);
        return this.truncate("rows");
      }
      if (this.chunkRows > 0 && this.chunkUsed + (at - from) + size > this.chunkBytes) {
        this.copyRun(bytes, from, at);
        from = at;
        await this.seal();
        if (this.stopped) return false;
      }
      const fresh = this.chunkRows === 0;
      const extra = fresh ? head.length : 0;
      // The head line rides above the rows' bound (MAX_CSV_HEAD_BYTES), as the bot allows.
      if (this.acceptedBytes + extra + size > this.options.maxBytes || size > MAX_RESULT_CHUNK_BYTES) {
        this.copyRun(bytes, from, at);
        return this.truncate("bytes");
      }
      if (fresh) {
        this.startChunk(head.length + size);
        head.copy(this.chunk, 0);
        this.chunkUsed = head.length;
      }
      this.chunkRows += 1;
      this.acceptedRows += 1;
      this.acceptedBytes += extra + size;
      at = end;
    }
    this.copyRun(bytes, from, at);
    return !this.stopped;
  }

  private copyRun(bytes: Buffer, from: number, to: number): void {
    if (to <= from) return;
    bytes.copy(this.chunk, this.chunkUsed, from, to);
    this.chunkUsed += to - from;
  }

  async rows(batch: unknown[][]): Promise<boolean> {
    for (const row of batch) {
      if (this.stopped) return false;
      if (this.acceptedRows >= this.options.rowCap) return this.truncate("rows");
      const json = JSON.stringify(row);
      const room = this.chunk.length - this.chunkUsed;
      // A UTF-16 unit takes at most three bytes: when that fits, encode in place and measure
      // after; otherwise measure first.
      const inPlace = json.length * 3 < room;
      const size = (inPlace ? this.chunk.write(json, this.chunkUsed) : Buffer.byteLength(json)) + 1;
      if (this.acceptedBytes + size > this.options.maxBytes || size > MAX_RESULT_CHUNK_BYTES) {
        return this.truncate("bytes");
      }
      if (!inPlace) {
        if (this.chunkUsed + size > this.chunkBytes && this.chunkRows > 0) await this.seal();
        if (this.chunk.length - this.chunkUsed < size) this.startChunk(size);
        this.chunk.write(json, this.chunkUsed);
      }
      this.chunk[this.chunkUsed + size - 1] = 0x0a;
      this.chunkUsed += size;
      this.chunkRows += 1;
      this.acceptedRows += 1;
      this.acceptedBytes += size;
    }
    return !this.stopped;
  }

  /** Sends what is left and waits for every chunk; the summary for the final result call. */
  async finish(): Promise<StreamedResultSummary> {
    if (this.chunkRows > 0) await this.seal();
    await this.inFlight;
    const undelivered = this.delivered.rows < this.acceptedRows;
    return {
      columns: this.names,
      chunks: this.delivered.chunks,
      row_count: this.delivered.rows,
      bytes: this.delivered.bytes,
      truncated_by: undelivered ? "undelivered" : this.truncatedBy,
    };
  }

  private truncate(why: ResultTruncation): false {
    this.truncatedBy ??= why;
    return false;
  }

  /**
   * A buffer for the next chunk: the one in flight stays with its request, retries included;
   * one whose request has ended is used again, so a large result allocates two chunk buffers,
   * not one per chunk (every fresh 4 MB was memory the garbage collector had to chase).
   */
  private startChunk(atLeast: number): void {
    const size = Math.max(this.chunkBytes, atLeast);
    const spare = this.spare;
    this.spare = undefined;
    this.chunk = spare !== undefined && spare.length >= size ? spare : Buffer.allocUnsafe(size);
    this.chunkUsed = 0;
    this.chunkRows = 0;
  }

  /** Waits for the chunk in flight (backpressure), then sends the rows gathered so far. */
  private async seal(): Promise<void> {
    await this.inFlight;
    const whole = this.chunk;
    const body = whole.subarray(0, this.chunkUsed);
    const rows = this.chunkRows;
    // The next row finds no room and starts a chunk; none is made when no row comes.
    this.chunk = Buffer.alloc(0);
    this.chunkUsed = 0;
    this.chunkRows = 0;
    if (this.stopped) return;
    const seq = this.seq;
    this.seq += 1;
    const sent = this.options.send(seq, body, seq === 0 ? this.names : undefined);
    // Once its request has ended, nothing reads the chunk's buffer any more.
    const reuse = (): void => {
      if (whole.length === this.chunkBytes) this.spare = whole;
    };
    this.inFlight = sent.then(
      (answer) => {
        reuse();
        if (answer.cancel) return this.stop("cancel");
        this.delivered = {
          chunks: this.delivered.chunks + 1,
          rows: this.delivered.rows + rows,
          bytes: this.delivered.bytes + body.length,
        };
      },
      (err: unknown) => {
        reuse();
        this.stop("undelivered", err);
      },
    );
  }

  private stop(why: UploadStop, err?: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.options.onStop(why, err);
  }
}
