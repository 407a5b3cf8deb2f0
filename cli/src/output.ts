/** Where the CLI writes: injected so tests read exactly what a person would see. */
export interface Output {
  print(text: string): void;
  error(text: string): void;
}

export const processOutput: Output = {
  print: (text) => process.stdout.write(`${text}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
};
