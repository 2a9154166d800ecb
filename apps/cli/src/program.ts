import { Command, CommanderError } from 'commander';
import { registerSync } from './commands/sync.js';
import { registerTree } from './commands/tree.js';
import { registerVerdict } from './commands/verdict.js';
import { registerVerify } from './commands/verify.js';
import { registerVerifyBundle } from './commands/verify-bundle.js';
import { EXIT, EXIT_HELP, UsageError, oneLine, type Done } from './exit.js';
import { DEFAULT_URL, type CliIo } from './http.js';
import { packageVersion } from './version.js';

const ENV_HELP = `Environment:
  REFGRAPH_URL       refgraph to ask (tree, verify, verdict); --url overrides it
  REFGRAPH_TOKEN     API token sent as a bearer token; --token overrides it
  REFGRAPH_CONFIG    config file for sync (default refgraph.yaml)
  DATABASE_URL       database for sync; without it, the embedded Postgres \`npm start\` uses
  REFGRAPH_DATA_DIR  that embedded Postgres' data directory (default .data/postgres)`;

/** Each command lives in ./commands/<name>.ts and registers itself here. */
export function buildProgram(io: CliIo, done: Done): Command {
  const program = new Command('refgraph')
    .description('referrers and signature graph for OCI registries')
    .version(packageVersion(), '--version', 'print the version')
    .option('--url <url>', `refgraph base URL (default $REFGRAPH_URL, else ${DEFAULT_URL})`)
    .option(
      '--token <token>',
      'API token (default $REFGRAPH_TOKEN; prefer the variable: arguments are visible to other local users)',
    )
    .addHelpText('after', `\n${ENV_HELP}\n\n${EXIT_HELP}\n`)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  registerSync(program, io, done);
  registerTree(program, io, done);
  registerVerdict(program, io, done);
  registerVerify(program, io, done);
  registerVerifyBundle(program, io, done);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
    cmd.addHelpText('after', `\n${EXIT_HELP}\n`);
  }
  return program;
}

/** Runs one command line and answers its exit code (see EXIT); never throws. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await buildProgram(io, (c) => (code = c)).parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end through here too, with exit code 0; commander already printed.
      return err.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`usage: ${oneLine(err.message)}\n`);
      return EXIT.error;
    }
    io.stderr.write(`internal_error: ${oneLine(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT.error;
  }
}
