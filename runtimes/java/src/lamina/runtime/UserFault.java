package lamina.runtime;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * A fault in the user's function set-up, reported the way AWS's Java runtime
 * reports it (aws-lambda-java-runtime-interface-client, UserFault.java): the
 * error body carries only {errorMessage, errorType} and the log line is
 * "msg: type\ntrace\n". A fatal fault during init goes to /init/error.
 */
final class UserFault extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private static final String PACKAGE_PREFIX = "lamina.runtime";

    final String msg;
    final String exception; // may be null
    final String trace; // may be null
    final boolean fatal;

    UserFault(String msg, String exception, String trace, boolean fatal) {
        super(msg, null, false, false);
        this.msg = msg;
        this.exception = exception;
        this.trace = trace;
        this.fatal = fatal;
    }

    static UserFault of(Throwable t, boolean fatal) {
        String m = t.getLocalizedMessage() == null ? t.getClass().getName() : t.getLocalizedMessage();
        return new UserFault(m, t.getClass().getName(), trace(t), fatal);
    }

    static UserFault message(String msg) {
        return new UserFault(msg, null, null, false);
    }

    /** Static initialiser / linkage failures: "Error loading class X[: msg]". */
    static UserFault initError(Throwable e, String className) {
        return new UserFault("Error loading class " + className + (e.getMessage() == null ? "" : ": " + e.getMessage()),
                e.getClass().getName(), trace(e), true);
    }

    static UserFault classNotFound(Throwable e, String className) {
        return new UserFault("Class not found: " + className, e.getClass().getName(), trace(e), false);
    }

    static String trace(Throwable t) {
        filterStackTrace(t);
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        return sw.toString();
    }

    /** Cut every stack trace at the first frame of the runtime itself. */
    static <T extends Throwable> T filterStackTrace(T t) {
        filter(t, Collections.newSetFromMap(new IdentityHashMap<>()));
        return t;
    }

    private static void filter(Throwable t, Set<Throwable> seen) {
        if (t == null || !seen.add(t)) {
            return;
        }
        StackTraceElement[] trace = t.getStackTrace();
        for (int i = 0; i < trace.length; i++) {
            if (trace[i].getClassName().startsWith(PACKAGE_PREFIX)) {
                StackTraceElement[] cut = new StackTraceElement[i];
                System.arraycopy(trace, 0, cut, 0, i);
                t.setStackTrace(cut);
                break;
            }
        }
        filter(t.getCause(), seen);
        for (Throwable s : t.getSuppressed()) {
            filter(s, seen);
        }
    }

    String reportableError() {
        if (exception != null || trace != null) {
            return String.format("%s: %s\n%s\n", msg, exception == null ? "" : exception, trace == null ? "" : trace);
        }
        return String.format("%s\n", msg);
    }
}
