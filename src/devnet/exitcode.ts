/** Exit codes (go-state-types exitcode, fvm_shared::error::ExitCode) and the error actors abort with. */
export const ExitCode = {
  Ok: 0,
  SysErrSenderInvalid: 1,
  SysErrSenderStateInvalid: 2,
  SysErrIllegalInstruction: 4,
  SysErrInvalidReceiver: 5,
  SysErrInsufficientFunds: 6,
  SysErrOutOfGas: 7,
  SysErrForbidden: 8,
  SysErrIllegalActor: 9,
  SysErrIllegalArgument: 10,
  ErrIllegalArgument: 16,
  ErrNotFound: 17,
  ErrForbidden: 18,
  ErrInsufficientFunds: 19,
  ErrIllegalState: 20,
  ErrSerialization: 21,
  ErrUnhandledMessage: 22,
  ErrUnspecified: 23,
  ErrAssertionFailed: 24,
  ErrReadOnly: 25,
  ErrNotPayable: 26,
  /** miner: balance invariants broken */
  ErrBalanceInvariantsBroken: 1000,
} as const;
export type ExitCodeValue = number;

const NAMES = new Map<number, string>(Object.entries(ExitCode).map(([k, v]) => [v, k]));

/** Go's ExitCode.String(): "SysErrInsufficientFunds(6)", or "ExitCode(33)" for codes without a name. */
export function exitCodeName(code: number): string {
  const n = NAMES.get(code);
  return n ? `${n}(${code})` : `ExitCode(${code})`;
}

/** An actor aborting with an exit code; the VM reverts the actor's state changes and records the code in the receipt. */
export class ActorError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ActorError';
  }
}

export const illegalArgument = (msg: string) => new ActorError(ExitCode.ErrIllegalArgument, msg);
export const notFound = (msg: string) => new ActorError(ExitCode.ErrNotFound, msg);
export const forbidden = (msg: string) => new ActorError(ExitCode.ErrForbidden, msg);
export const insufficientFunds = (msg: string) => new ActorError(ExitCode.ErrInsufficientFunds, msg);
export const illegalState = (msg: string) => new ActorError(ExitCode.ErrIllegalState, msg);
export const serialization = (msg: string) => new ActorError(ExitCode.ErrSerialization, msg);
