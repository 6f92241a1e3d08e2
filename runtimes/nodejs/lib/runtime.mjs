// The invoke loop, context object and callback semantics of AWS's Node.js
// runtime (src/Runtime.js, InvokeContext.js, CallbackContext.js,
// BeforeExitListener.js, 3.x).
import { NodeJsExit } from './errors.mjs';
import { setCurrentRequestId, structuredConsole } from './logpatch.mjs';
import { STREAM_RESPONSE } from './loader.mjs';
import { ResponseStream } from './streaming.mjs';

// One 'beforeExit' listener, replaced per invoke. It fires when the event
// loop drains: that is how callbackWaitsForEmptyEventLoop works.
const LISTENER = Symbol.for('aws.lambda.beforeExit');
const NOOP = () => {};
export const BeforeExitListener = {
  invoke: () => globalThis[LISTENER](),
  reset: () => (globalThis[LISTENER] = NOOP),
  set: (fn) => (globalThis[LISTENER] = fn),
};

function parseJson(text, name) {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// Context fields from the /next headers and the environment.
// memoryLimitInMB is a string, as in AWS's runtime.
function buildContext(base, headers) {
  const trace = headers['lambda-runtime-trace-id'];
  if (trace) process.env._X_AMZN_TRACE_ID = trace;
  else delete process.env._X_AMZN_TRACE_ID;
  const deadline = headers['lambda-runtime-deadline-ms'];
  return Object.assign(
    base,
    {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    },
    {
      clientContext: parseJson(headers['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJson(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: headers['lambda-runtime-aws-request-id'],
      tenantId: headers['lambda-runtime-aws-tenant-id'],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    },
  );
}

// callback(err, result), context.done/succeed/fail; only the first call counts.
function buildCallbackContext(client, id, scheduleNext) {
  const postError = (err, cb) => {
    structuredConsole.logError('Invoke Error', err);
    client.postInvocationError(err, id, cb);
  };
  let completed = false;
  const complete = (result, cb) => {
    if (completed) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    completed = true;
    client.postInvocationResponse(result, id, cb);
  };
  let waitForEmptyEventLoop = true;

  const callback = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      BeforeExitListener.set(() => setImmediate(() => complete(result, scheduleNext)));
    }
  };
  const done = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) postError(err, scheduleNext);
    else complete(result, scheduleNext);
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => (err === undefined || err === null ? done('handled') : done(err, null)),
    done,
  };

  let finished = false;
  const once = (fn) => (...args) => {
    if (!finished) {
      fn(...args);
      finished = true;
    }
  };
  context.succeed = once(context.succeed);
  context.fail = once(context.fail);
  context.done = once(context.done);
  return [once(callback), context, () => (completed = true)];
}

const isPromise = (obj) => obj && obj.then && typeof obj.then === 'function';

export class Runtime {
  constructor(client, handler, metadata, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.metadata = metadata;
    this.errorCallbacks = errorCallbacks;
    this.handleOnce = metadata.streaming === STREAM_RESPONSE ? this.handleOnceStreaming : this.handleOnceNonStreaming;
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(
        () => {},
        (err) => {
          console.log(`Unexpected Top Level Error: ${err.toString()}`);
          this.errorCallbacks.uncaughtException(err);
        },
      );
    });
  }

  // During an invoke, uncaught exceptions / unhandled rejections are posted
  // as the invoke's error, then the process exits (129 / 128) as AWS does.
  setErrorCallbacks(id) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.postInvocationError(error, id, () => process.exit(129));
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.postInvocationError(error, id, () => process.exit(128));
    };
  }

  async handleOnceNonStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const id = headers['lambda-runtime-aws-request-id'];
    setCurrentRequestId(id);
    const [callback, callbackContext, markCompleted] = buildCallbackContext(this.client, id, () =>
      this.scheduleIteration(),
    );
    try {
      this.setErrorCallbacks(id);
      // Handler never called back and the loop drained: an async handler
      // fails with Runtime.NodeJsExit, a sync one succeeds with null.
      BeforeExitListener.set(() => {
        markCompleted();
        if (this.metadata.isAsync) {
          const err = new NodeJsExit();
          structuredConsole.logError('Invoke Error', err);
          this.client.postInvocationError(err, id, () => this.scheduleIteration());
        } else {
          this.client.postInvocationResponse(null, id, () => this.scheduleIteration());
        }
      });
      const result = this.handler(JSON.parse(bodyJson), buildContext(callbackContext, headers), callback);
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const id = headers['lambda-runtime-aws-request-id'];
    setCurrentRequestId(id);
    const stream = new ResponseStream(this.client, id, this.metadata.highWaterMark);
    let failed = false;
    const fail = (err) => {
      if (failed) return;
      failed = true;
      structuredConsole.logError('Invoke Error', err);
      if (stream.started) {
        stream.failWithTrailers(err);
        stream.responseDone.then(() => this.scheduleIteration(), () => this.scheduleIteration());
      } else {
        this.client.postInvocationError(err, id, () => this.scheduleIteration());
      }
    };
    try {
      this.setErrorCallbacks(id);
      BeforeExitListener.set(() => this.scheduleIteration());
      const ctx = buildContext({}, headers);
      const result = this.handler(JSON.parse(bodyJson), stream, ctx);
      if (!isPromise(result)) {
        fail(new Error('Streaming does not support non-async handlers.'));
        return;
      }
      if ((await result) !== undefined) console.warn('Streaming handlers ignore return values.');
      if (!stream.writableFinished) {
        await new Promise((resolve) => stream.once('finish', resolve).once('error', resolve));
      }
      await stream.responseDone;
      BeforeExitListener.reset();
      this.scheduleIteration();
    } catch (err) {
      BeforeExitListener.reset();
      fail(err);
    }
  }
}
