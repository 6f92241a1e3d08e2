// Error classes and error-body formatting of AWS's Node.js runtime
// (aws-lambda-nodejs-runtime-interface-client 3.x, src/Errors.js).
import util from 'node:util';

function isErrorLike(obj) {
  return (
    obj &&
    typeof obj.name === 'string' && obj.name &&
    typeof obj.message === 'string' && obj.message &&
    typeof obj.stack === 'string' && obj.stack
  );
}

export function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// Body posted to /invocation/{id}/error and /init/error:
// {errorType, errorMessage, trace}. A non-Error value (callback('oops'))
// gives errorType = typeof value and an empty trace.
export function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      };
    }
    return {
      errorType: typeof error,
      errorMessage: error.toString(),
      trace: [],
    };
  } catch (_err) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

// name, message, code and stack are not enumerable on Error objects; the
// runtime makes them visible when it logs an error (always prefixed by a tab).
function withEnumerableProperties(error) {
  if (error instanceof Error) {
    const ret = Object.assign(
      { errorType: error.name, errorMessage: error.message, code: error.code },
      error,
    );
    if (typeof error.stack === 'string') ret.stack = error.stack.split('\n');
    return ret;
  }
  return error;
}

export function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_err) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// X-Ray cause header (src/XRayError.js).
export function xrayFormatted(err) {
  try {
    const stack = [];
    if (err && err.stack) {
      const lines = String(err.stack).split('\n');
      lines.shift();
      for (const stackLine of lines) {
        let line = stackLine.trim().replace(/\(|\)/g, '');
        line = line.substring(line.indexOf(' ') + 1);
        const label = line.lastIndexOf(' ') >= 0 ? line.slice(0, line.lastIndexOf(' ')) : null;
        const p = (!label ? line : line.slice(line.lastIndexOf(' ') + 1)).split(':');
        stack.push({ path: p[0], line: parseInt(p[1]), label: label || 'anonymous' });
      }
    }
    return JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [{ type: err?.name, message: err?.message, stack }],
      paths: Array.from(new Set(stack.map((e) => e.path))),
    });
  } catch (_e) {
    return '';
  }
}

// Runtime.* error classes: the prototype name is set before any instance is
// created so that error.stack starts with "Runtime.<Name>: ...".
export class ImportModuleError extends Error {}
export class HandlerNotFound extends Error {}
export class MalformedHandlerName extends Error {}
export class UserCodeSyntaxError extends Error {}
export class MalformedStreamingHandler extends Error {}
export class InvalidStreamingOperation extends Error {}
export class NodeJsExit extends Error {
  constructor() {
    // Message of the 3.x runtime for a handler whose promise never settled
    // before the event loop drained.
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
export class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}

for (const cls of [
  ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError,
  MalformedStreamingHandler, InvalidStreamingOperation, NodeJsExit, UnhandledPromiseRejection,
]) {
  cls.prototype.name = `Runtime.${cls.name}`;
}
