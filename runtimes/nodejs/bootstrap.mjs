// Lamina runtime bootstrap for Node.js (built-in modules only).
//
// Started as `node /var/runtime/nodejs/bootstrap.mjs` with the function code
// in $LAMBDA_TASK_ROOT (default /var/task, also the cwd) and the handler in
// $_HANDLER (or argv[2]). It behaves like AWS's managed Node.js runtime
// (aws-lambda-nodejs-runtime-interface-client 3.x, src/index.mjs): console
// patched to AWS's log format, the handler loaded once at start-up, init
// failures posted to /init/error followed by exit 129, and the invoke loop.
import { RapidClient } from './lib/rapid.mjs';
import { Runtime, BeforeExitListener } from './lib/runtime.mjs';
import { load, handlerMetadata } from './lib/loader.mjs';
import { UnhandledPromiseRejection } from './lib/errors.mjs';
import { patchConsole, structuredConsole } from './lib/logpatch.mjs';

patchConsole();
const client = new RapidClient(process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001');

// Before the first invoke, failures are init errors (exit 129 / 128 like the
// AWS runtime); Runtime.setErrorCallbacks re-targets them per invoke.
const errorCallbacks = {
  uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
  unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
};

process.on('uncaughtException', (error) => {
  structuredConsole.logError('Uncaught Exception', error);
  errorCallbacks.uncaughtException(error);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  structuredConsole.logError('Unhandled Promise Rejection', error);
  errorCallbacks.unhandledRejection(error);
});
BeforeExitListener.reset();
process.on('beforeExit', BeforeExitListener.invoke);

const appRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
const handlerString = process.argv[2] || process.env._HANDLER || '';

let handler;
let metadata;
try {
  handler = await load(appRoot, handlerString);
  metadata = handlerMetadata(handler);
} catch (error) {
  // Same path as AWS's runtime, where the rejected top-level await surfaces
  // as an uncaught exception.
  process.emit('uncaughtException', error);
}
if (metadata) {
  new Runtime(client, handler, metadata, errorCallbacks).scheduleIteration();
}
