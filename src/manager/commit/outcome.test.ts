// Why a message is stuck or failed is read from the messager's code (MessageRecord.ErrorCode), not its words: a
// reworded messager error keeps its reason; only a record without a code (venus-messager) has its words read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MessageRecord, MessagerErrorCode, MessageState } from '../../api/messager.js';
import { messageOutcome, reasonOfError, WALLET_FIX } from './outcome.js';

const rec = (over: Partial<MessageRecord>) =>
  ({ ID: 'x', State: MessageState.UnFillMsg, ErrorMsg: '', SignedCid: null, Receipt: null, ...over }) as MessageRecord;

test('a coded messager error keeps its reason whatever its words', () => {
  // words that name neither a wallet nor gas: the code alone says what happened
  const unsigned = messageOutcome(
    rec({ ErrorMsg: 'the signer of account "devnet" is away', ErrorCode: MessagerErrorCode.WalletUnavailable }),
  );
  assert.deepEqual(unsigned, {
    status: 'pending',
    reason: 'signing',
    detail: 'the signer of account "devnet" is away',
    fix: WALLET_FIX,
  });
  const gas = messageOutcome(
    rec({ State: MessageState.FailedMsg, ErrorMsg: 'actor aborted (16)', ErrorCode: MessagerErrorCode.GasEstimation }),
  );
  assert.equal(gas.status, 'failed');
  assert.equal(gas.reason, 'gas');
  assert.match(gas.fix!, /balance/);
  // and words that once meant "wallet" do not make a push refusal a signing failure
  const refused = messageOutcome(
    rec({ ErrorMsg: 'push: bad signature from the wallet', ErrorCode: MessagerErrorCode.PushRefused }),
  );
  assert.equal(refused.reason, 'push');
  assert.equal(refused.fix, undefined);
  assert.equal(
    reasonOfError({ ErrorMsg: 'not enough funds for gas', ErrorCode: MessagerErrorCode.NoSender }),
    'landing',
  );
  assert.equal(reasonOfError({ ErrorMsg: 'wallet locked', ErrorCode: 12999 as MessagerErrorCode }), 'landing');
  assert.equal(
    reasonOfError({ ErrorMsg: 'expired: not sent from epoch 9 on', ErrorCode: MessagerErrorCode.Expired }),
    'landing',
  );
});

test('a record without a code (venus-messager) is read by its words, the documented last resort', () => {
  assert.equal(reasonOfError({ ErrorMsg: 'wallet not found' }), 'signing');
  assert.equal(reasonOfError({ ErrorMsg: 'estimate gas: insufficient funds' }), 'gas');
  assert.equal(reasonOfError({ ErrorMsg: 'something else' }), 'landing');
  assert.equal(messageOutcome(rec({ ErrorMsg: 'wallet not found' })).reason, 'signing');
  assert.deepEqual(messageOutcome(rec({ State: MessageState.FillMsg })), { status: 'pending' });
});
