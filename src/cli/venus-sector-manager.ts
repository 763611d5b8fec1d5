#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { runMain, withLogging } from '../common/cli.js';
import { VERSION } from '../common/version.js';
import { parseNetwork, UnknownNetworkError } from '../fil/index.js';
import { registerManagerCommands } from '../manager/cli.js';

const program = withLogging(new Command('venus-sector-manager'))
  .description('venus-sector-manager: the chain-facing daemon of the sealing cluster')
  .version(VERSION)
  .option(
    '--home <dir>',
    'sector-manager home (env VENUS_SECTOR_MANAGER_PATH)',
    process.env.VENUS_SECTOR_MANAGER_PATH ?? '~/.venus-sector-manager',
  )
  .addOption(
    new Option('--net <net>', 'network: mainnet, cali, calibnet, 2k, forcenet, force, butterfly, interop, …')
      .default('mainnet')
      .argParser(netName),
  );

/** --net as the canonical name of the network table (src/fil/network.ts); an unknown name is refused with the list. */
function netName(v: string): string {
  try {
    return parseNetwork(v).name;
  } catch (e) {
    if (e instanceof UnknownNetworkError) throw new InvalidArgumentError(e.message);
    throw e;
  }
}

registerManagerCommands(program);

await runMain(program);
