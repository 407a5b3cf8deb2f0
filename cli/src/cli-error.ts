/** An error the CLI reports to a person and turns into an exit code; nothing else is caught. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
