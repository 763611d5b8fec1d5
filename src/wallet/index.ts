/**
 * venus-wallet: BLS and secp256k1 keys encrypted at rest (the original's keystore), signing over authenticated
 * JSON-RPC (src/api/wallet.ts), registration with venus-gateways (src/api/gateway.ts). See README.md, "venus-wallet".
 */
export { registerWalletCommands } from './cli.js';
export { type WalletConfig, WalletConfigSchema } from './config.js';
export { type DaemonOptions, type RunningDaemon, startDaemon } from './daemon.js';
export { GatewayHub, type GatewayHubOptions, gatewayEndpoint } from './gateway-client.js';
export { KeyStore, WalletError } from './keystore.js';
export { initRepo, jwtSecret, jwtToken, resolveRepo } from './repo.js';
export { WalletService, type WalletServiceOptions } from './service.js';
export { networkOfNetType, parseKeyType, type SignMeta, shortAddress, Wallet, type WalletOptions } from './wallet.js';
