// Public surface of the linearizability checker (pure TypeScript, no Corral imports).
export { UNKNOWN, InvalidHistoryError, LinearizabilityError } from "./types.js";
export type {
  Unknown,
  Operation,
  Model,
  StepResult,
  CheckBudget,
  CheckVerdict,
  CheckResult,
  Counterexample,
  LinearizedStep,
} from "./types.js";
export { checkOperations, checkEvents, historyFromEvents, defaultMaxSteps, defaultMaxCacheEntries } from "./checker.js";
export type { CheckOptions, HistoryEvent } from "./checker.js";
export { formatCounterexample, formatResult, assertLinearizable } from "./format.js";
export type { FormatOptions } from "./format.js";
export { hashString, partitionByKey } from "./models/common.js";
export { registerModel, applyRegister, describeRegisterOperation } from "./models/register.js";
export type { RegisterState, RegisterInput, RegisterOutput, RegisterModelOptions } from "./models/register.js";
export { znodeRegisterModel, applyZnode, describeZnodeOperation, anyVersion } from "./models/znode-register.js";
export type { ZnodeState, ZnodeInput, ZnodeOutput, ZnodeErrorCode, ZnodeRegisterModelOptions } from "./models/znode-register.js";
export { znodeSetModel, applyZnodeSet, describeZnodeSetOperation } from "./models/znode-set.js";
export type { ZnodeSetState, ZnodeSetInput, ZnodeSetOutput } from "./models/znode-set.js";
