import { Command, CommanderError } from 'commander';
import { registerSync } from './commands/sync.js';
import { registerTree } from './commands/tree.js';
import { registerVerdict } from './commands/verdict.js';
import { registerVerify } from './commands/verify.js';
import { registerVerifyBundle } from './commands/verify-bundle.js';
import { EXIT, UsageError, oneLine } from './exit.js';

/** Each command lives in ./commands/<name>.ts and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('refgraph')
    .description('referrers and signature graph for OCI registries')
    .showHelpAfterError()
    .exitOverride();
  registerSync(program);
  registerTree(program);
  registerVerdict(program);
  registerVerify(program);
  registerVerifyBundle(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end through here too, with exit code 0; commander already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`usage: ${oneLine(err.message)}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`internal_error: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv);
