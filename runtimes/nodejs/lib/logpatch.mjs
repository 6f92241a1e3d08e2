// console patching of AWS's Node.js runtime (src/LogPatch.js, 3.x):
// text lines are "<ISO time>\t<request id>\t<LEVEL>\t<message>" with every
// "\n" of the message turned into "\r" so one call is one CloudWatch event.
// AWS_LAMBDA_LOG_FORMAT=JSON switches to one JSON object per line and
// AWS_LAMBDA_LOG_LEVEL filters levels.
import util from 'node:util';
import { intoError, toFormatted } from './errors.mjs';

// Same global symbol as the AWS runtime, so libraries reading it keep working.
const REQUEST_ID_SYMBOL = Symbol.for('aws.lambda.runtime.requestId');

export function setCurrentRequestId(id) {
  globalThis[REQUEST_ID_SYMBOL] = id;
}

function currentRequestId() {
  return globalThis[REQUEST_ID_SYMBOL];
}

export const structuredConsole = {};

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function formatJson(requestId, timestamp, level, ...params) {
  const result = { timestamp, level: level.name, requestId };
  if (params.length === 1) {
    result.message = params[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_e) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...params);
  for (const param of params) {
    if (param instanceof Error) {
      result.errorType = param?.constructor?.name ?? 'UnknownError';
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

function writeText(level, message, ...params) {
  const line = `${new Date().toISOString()}\t${currentRequestId()}\t${level.name}\t${util.format(message, ...params)}`;
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

function writeJson(level, message, ...params) {
  const line = formatJson(currentRequestId(), new Date().toISOString(), level, message, ...params);
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

export function patchConsole() {
  const json = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';
  const log = json ? writeJson : writeText;
  const min = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const nop = () => {};
  const make = (level) => (level.priority >= min.priority ? (msg, ...params) => log(level, msg, ...params) : nop);

  console.trace = make(LEVELS.TRACE);
  console.debug = make(LEVELS.DEBUG);
  console.info = make(LEVELS.INFO);
  console.log = console.info;
  console.warn = make(LEVELS.WARN);
  console.error = make(LEVELS.ERROR);
  console.fatal = (msg, ...params) => log(LEVELS.FATAL, msg, ...params);

  structuredConsole.logError = json
    ? (_msg, err) => console.error(intoError(err))
    : (msg, err) => console.error(msg, toFormatted(intoError(err)));
}
