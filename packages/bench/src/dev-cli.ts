import { Command, InvalidArgumentError } from 'commander';

/**
 * The command line of a development script (`npm run fuzz`, `chaos`, `soak`): commander, as
 * the `parley` CLI uses, so that `--help` prints the usage and a wrong option says what is
 * wrong in one line (exit 2) instead of a stack trace.
 */
export function devCommand(name: string, description: string): Command {
  return new Command(`npm run ${name} --`)
    .description(description)
    .allowExcessArguments(false)
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
}

/** An option's value as a whole number of at least `min`. */
export function whole(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    }
    return n;
  };
}
