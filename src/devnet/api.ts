/**
 * `Devnet.*`: the devnet's own methods (what `venus-devnet status` shows), next to the Lotus/Venus APIs.
 */
import { defineApi, method } from '../rpc/index.js';

export interface MinerStatus {
  Miner: string;
  Owner: string;
  Worker: string;
  SectorSize: number;
  /** bytes, decimal strings */
  RawBytePower: string;
  QualityAdjPower: string;
  Sectors: { Live: number; Active: number; Faulty: number; Recovering: number; Unproven: number; PreCommitted: number };
  CurrentDeadline: { Index: number; Open: number; Close: number; Challenge: number; PeriodStart: number };
  /** null when the miner has never proven a deadline */
  LastWindowPoStEpoch: number | null;
  AvailableBalance: string;
}

export interface DevnetStatus {
  Height: number;
  HeadCid: string;
  NetworkName: string;
  NetworkVersion: number;
  BlockTimeMs: number;
  BaseFee: string;
  MempoolSize: number;
  Miners: MinerStatus[];
  /** the proving-period policy (absent from devnets before this field) */
  Policy?: {
    wpostPeriodDeadlines: number;
    wpostChallengeWindow: number;
    wpostChallengeLookback: number;
    sectorSizes: number[];
  };
}

export const DevnetAPI = defineApi('Devnet', {
  Status: method<[], DevnetStatus>('read'),
});
