package lamina.runtime;

import com.amazonaws.services.lambda.runtime.LambdaRuntime;
import com.amazonaws.services.lambda.runtime.logging.LogFormat;
import com.amazonaws.services.lambda.runtime.logging.LogLevel;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOError;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.Field;

/**
 * Lamina runtime bootstrap for Java (no dependencies).
 *
 * <pre>
 * java -XX:+TieredCompilation -XX:TieredStopAtLevel=1 -Xshare:auto \
 *   -cp /var/runtime/java/lamina-java-runtime.jar:/var/task:/var/task/lib/*:/opt/java/lib/* \
 *   lamina.runtime.Bootstrap [handler]
 * </pre>
 *
 * The handler comes from argv[0] or $_HANDLER. Behaviour follows AWS's Java
 * runtime (aws-lambda-java-runtime-interface-client, AWSLambda.java): the
 * handler is loaded once; a fatal load failure is logged, posted to
 * /init/error with "Lambda-Runtime-Function-Error-Type: Runtime.BadFunctionCode"
 * and the process exits 1; non-fatal faults (class not found, bad signature)
 * are reported on every invoke; exceptions thrown by the handler are posted as
 * {errorMessage, errorType, stackTrace} with "Runtime.UserException".
 */
public final class Bootstrap {
    private Bootstrap() {
    }

    /** The function logger: one call = one log event (one stdout line). */
    static final FunctionLogger LOGGER = FunctionLogger.fromEnvironment();

    /** AWS's runtime logs its own errors at ERROR in JSON, unleveled in text. */
    private static void logError(UserFault fault) {
        LOGGER.log(fault.reportableError(), LOGGER.format() == LogFormat.JSON ? LogLevel.ERROR : LogLevel.UNDEFINED);
    }

    public static void main(String[] args) throws Throwable {
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8"));
        System.setErr(new PrintStream(new FileOutputStream(FileDescriptor.err), true, "UTF-8"));
        installRuntimeLogger();

        String handler = args.length > 0 ? args[0] : System.getenv("_HANDLER");
        String api = System.getenv("AWS_LAMBDA_RUNTIME_API");
        if (api == null || api.isEmpty()) {
            System.err.println("AWS_LAMBDA_RUNTIME_API is not set");
            System.exit(1);
        }
        RuntimeApi client = new RuntimeApi(api);
        ClassLoader cl = Thread.currentThread().getContextClassLoader();
        if (cl == null) {
            cl = ClassLoader.getSystemClassLoader();
        }

        HandlerLoader.Invoker invoker;
        try {
            invoker = HandlerLoader.load(handler == null ? "" : handler, cl);
        } catch (UserFault fault) {
            logError(fault);
            // LambdaErrorConverter.fromUserFault: no stackTrace in the body.
            client.postInitError("Runtime.BadFunctionCode", RuntimeApi.errorBody(fault.msg, fault.exception, null));
            System.exit(1);
            return;
        }
        loop(client, invoker);
    }

    /** LambdaRuntime.getLogger() returns our logger (AWS sets it by reflection too). */
    private static void installRuntimeLogger() {
        try {
            Field f = LambdaRuntime.class.getDeclaredField("logger");
            f.setAccessible(true);
            f.set(null, LOGGER);
        } catch (ReflectiveOperationException e) {
            // keep the default logger
        }
    }

    private static void loop(RuntimeApi client, HandlerLoader.Invoker invoker) {
        boolean shouldExit = false;
        while (!shouldExit) {
            RuntimeApi.Invocation inv;
            try {
                inv = client.next();
            } catch (IOException e) {
                System.err.println("LAMBDA_RUNTIME Failed to get next invocation: " + e);
                System.exit(1);
                return;
            }
            // X-Ray SDK reads the trace header from this system property.
            if (inv.traceId != null) {
                System.setProperty("com.amazonaws.xray.traceHeader", inv.traceId);
            } else {
                System.clearProperty("com.amazonaws.xray.traceHeader");
            }
            LOGGER.setRequestId(inv.requestId);
            UserFault logged = null;
            byte[] out = null;
            try {
                LambdaContextImpl ctx = new LambdaContextImpl(inv.requestId, inv.deadlineMs, inv.functionArn,
                        inv.traceId, inv.tenantId, inv.cognitoIdentity, inv.clientContext, LOGGER);
                out = invoker.call(inv.body, ctx);
                Thread.interrupted(); // clear an interrupt flag left by user code
            } catch (UserFault f) {
                shouldExit = f.fatal;
                logged = f;
                postError(client, inv.requestId, "Runtime.BadFunctionCode",
                        RuntimeApi.errorBody(f.msg, f.exception, null));
            } catch (Throwable t) {
                shouldExit = t instanceof VirtualMachineError || t instanceof IOError;
                UserFault.filterStackTrace(t);
                logged = UserFault.of(t, false);
                String msg = t.getLocalizedMessage() == null ? t.getClass().getName() : t.getLocalizedMessage();
                StackTraceElement[] st = t.getStackTrace();
                String[] frames = new String[st.length];
                for (int i = 0; i < st.length; i++) {
                    frames[i] = st[i].toString();
                }
                postError(client, inv.requestId, "Runtime.UserException",
                        RuntimeApi.errorBody(msg, t.getClass().getName(), frames));
            } finally {
                if (logged != null) {
                    logError(logged);
                }
            }
            if (out != null) {
                try {
                    client.postResponse(inv.requestId, out);
                } catch (IOException e) {
                    // e.g. 413 for an oversized response: unrecoverable, like AWS's client
                    System.err.println("LAMBDA_RUNTIME " + e);
                    System.exit(1);
                }
            }
        }
        System.exit(1);
    }

    private static void postError(RuntimeApi client, String requestId, String type, byte[] body) {
        try {
            client.postError(requestId, type, body);
        } catch (IOException e) {
            System.err.println("LAMBDA_RUNTIME " + e);
            System.exit(1);
        }
    }
}
