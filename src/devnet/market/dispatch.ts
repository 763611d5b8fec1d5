/** Messages to the market actor (f05): method dispatch with builtin-actors' numbers (fil/actors/market.ts). */
import {
  decodeAddBalanceParams,
  decodeMarketWithdrawBalanceParams,
  decodePublishStorageDealsParams,
  encodeMarketWithdrawBalanceReturn,
  encodePublishStorageDealsReturn,
  MarketMethod,
} from '../../fil/index.js';
import * as codec from '../codec.js';
import { ActorError, ExitCode } from '../exitcode.js';
import type { Runtime } from '../runtime.js';
import { addBalance, publishStorageDeals, withdrawBalance } from './publish.js';

export function invokeMarket(rt: Runtime, method: number, params: Uint8Array): Uint8Array {
  const p = <T>(what: string, fn: (v: unknown) => T) => codec.decodeParams(what, params, fn);
  switch (method) {
    case MarketMethod.AddBalance:
    case MarketMethod.AddBalanceExported:
      addBalance(rt, p('AddBalanceParams', decodeAddBalanceParams));
      return new Uint8Array(0);
    case MarketMethod.WithdrawBalance: {
      const w = p('WithdrawBalanceParams', decodeMarketWithdrawBalanceParams);
      return encodeMarketWithdrawBalanceReturn(withdrawBalance(rt, w.providerOrClient, w.amount));
    }
    case MarketMethod.PublishStorageDeals:
    case MarketMethod.PublishStorageDealsExported:
      return encodePublishStorageDealsReturn(
        publishStorageDeals(rt, p('PublishStorageDealsParams', decodePublishStorageDealsParams)),
      );
    default:
      throw new ActorError(ExitCode.ErrUnhandledMessage, `market method ${method} is not supported by the devnet`);
  }
}
