/**
 * The wallet's part for a devnet run without venus-wallet (the manager-rpc bench's chain, tests with an in-process
 * devnet): registered with the devnet's gateway, it answers WalletList and WalletSign with the genesis keys, as
 * venus-wallet would with its own.
 */
import { GatewayAPI, type RequestEvent } from '../api/gateway.js';
import { addressOf, fromBase64, type KeyInfo, signatureToJSON, signWithKey, toBase64 } from '../fil/index.js';
import { createClient } from '../rpc/index.js';
import type { DevnetService } from './service.js';

/**
 * Registers with `devnet`'s gateway and signs with `keys`; resolves once the gateway has connected it (its
 * addresses are routed to this wallet), with the function that unregisters it.
 */
export async function startGenesisWallet(
  devnet: Pick<DevnetService, 'url' | 'token'>,
  keys: KeyInfo[],
): Promise<() => Promise<void>> {
  const gw = createClient(GatewayAPI, { url: devnet.url('v1', 'ws'), token: devnet.token });
  const byAddr = new Map(keys.map((k) => [addressOf(k.type, k.privateKey).toString(), k]));
  const sub = await gw.ListenWalletEvent({
    SupportAccounts: ['devnet'],
    SignBytes: toBase64(new Uint8Array(32).fill(7)),
  });
  let connected!: () => void;
  const ready = new Promise<void>((r) => {
    connected = r;
  });
  void (async () => {
    for await (const ev of sub as AsyncIterable<RequestEvent>) {
      const payload = ev.Payload ? JSON.parse(Buffer.from(ev.Payload, 'base64').toString()) : null;
      if (ev.Method === 'WalletList') {
        const list = toBase64(Buffer.from(JSON.stringify([...byAddr.keys()])));
        await gw.ResponseWalletEvent({ Id: ev.Id, Payload: list, Error: '' });
      } else if (ev.Method === 'WalletSign') {
        const key = byAddr.get(payload.Signer);
        if (!key) {
          await gw.ResponseWalletEvent({ Id: ev.Id, Payload: '', Error: `no key for ${payload.Signer}` });
          continue;
        }
        const sig = signatureToJSON(signWithKey(key, fromBase64(payload.ToSign)));
        await gw.ResponseWalletEvent({ Id: ev.Id, Payload: toBase64(Buffer.from(JSON.stringify(sig))), Error: '' });
      } else if (ev.Method === 'InitConnect') connected();
    }
  })();
  await ready;
  return async () => {
    sub.cancel();
    await gw.close();
  };
}
