/**
 * venus-wallet's `config.toml` (docs/spec/chain.md §Wallet config): the keys are the original's Go field names, so an
 * operator's file from the original works here. Unknown keys are refused at start with the file, key and reason.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { z } from 'zod';
import { loadConfigFile } from '../common/config.js';
import { writeFileAtomic } from './files.js';

const strict = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();

export const WalletConfigSchema = strict({
  API: strict({ ListenAddress: z.string().default('/ip4/127.0.0.1/tcp/5678/http') }).default({
    ListenAddress: '/ip4/127.0.0.1/tcp/5678/http',
  }),
  DB: strict({
    Conn: z.string().default(''),
    Type: z.literal('sqlite').default('sqlite'),
    DebugMode: z.boolean().default(false),
  }).default({ Conn: '', Type: 'sqlite', DebugMode: false }),
  JWT: strict({ Token: z.string().default(''), Secret: z.string().default('') }).default({ Token: '', Secret: '' }),
  Factor: strict({
    ScryptN: z
      .number()
      .int()
      .refine((n) => n >= 2 && (n & (n - 1)) === 0, 'must be a power of two')
      .default(262144),
    ScryptP: z.number().int().min(1).default(1),
  }).default({ ScryptN: 262144, ScryptP: 1 }),
  SignFilter: strict({ Expr: z.string().default('') }).default({ Expr: '' }),
  APIRegisterHub: strict({
    RegisterAPI: z.array(z.string()).default([]),
    Token: z.string().default(''),
    SupportAccounts: z.array(z.string()).default([]),
  }).default({ RegisterAPI: [], Token: '', SupportAccounts: [] }),
  SignRecorder: strict({ Enable: z.boolean().default(false), KeepDuration: z.string().default('168h') }).default({
    Enable: false,
    KeepDuration: '168h',
  }),
  Metrics: strict({ Enabled: z.boolean().default(false) })
    .passthrough()
    .default({ Enabled: false }),
});

export type WalletConfig = z.output<typeof WalletConfigSchema>;

export const CONFIG_FILE = 'config.toml';
export const KEYSTORE_FILE = 'keystore.sqlit';

export function defaultWalletConfig(repo: string): WalletConfig {
  const c = WalletConfigSchema.parse({});
  c.DB.Conn = join(repo, KEYSTORE_FILE);
  return c;
}

export function loadWalletConfig(repo: string): WalletConfig {
  return loadConfigFile(join(repo, CONFIG_FILE), WalletConfigSchema);
}

/** Rewrites config.toml atomically with mode 0600 (it holds the API secret); the old file stays whole on failure. */
export function writeWalletConfig(repo: string, c: WalletConfig): void {
  writeFileAtomic(join(repo, CONFIG_FILE), stringify(c), 0o600);
}

export function hasWalletConfig(repo: string): boolean {
  return existsSync(join(repo, CONFIG_FILE));
}
