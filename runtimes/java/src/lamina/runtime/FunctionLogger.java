package lamina.runtime;

import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.logging.LogFormat;
import com.amazonaws.services.lambda.runtime.logging.LogLevel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The function logger behind {@code context.getLogger()} and {@code LambdaRuntime.getLogger()},
 * as AWS's Java runtime has it (aws-lambda-java-runtime-interface-client: AbstractLambdaLogger,
 * LogFiltering, TextLogFormatter, JsonLogFormatter). A message logged at a level below
 * AWS_LAMBDA_LOG_LEVEL is dropped (UNDEFINED, the level of {@code log(String)}, never is). With
 * AWS_LAMBDA_LOG_FORMAT=JSON every call writes {"timestamp","message","level","AWSRequestId"}
 * (the request id once an invocation started); in text a leveled message gets a "[LEVEL] "
 * prefix. One call is one stdout line (one log event).
 */
final class FunctionLogger implements LambdaLogger {
    private static final DateTimeFormatter TIMESTAMP =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private final LogFormat format;
    private final LogLevel minimum;
    private volatile String requestId;

    FunctionLogger(LogFormat format, LogLevel minimum) {
        this.format = format;
        this.minimum = minimum;
    }

    static FunctionLogger fromEnvironment() {
        return new FunctionLogger(LogFormat.fromString(System.getenv("AWS_LAMBDA_LOG_FORMAT")),
                LogLevel.fromString(System.getenv("AWS_LAMBDA_LOG_LEVEL")));
    }

    LogFormat format() {
        return format;
    }

    /** The invocation whose request id JSON records carry from now on. */
    void setRequestId(String requestId) {
        this.requestId = requestId;
    }

    private boolean enabled(LogLevel level) {
        return level == LogLevel.UNDEFINED || level.ordinal() >= minimum.ordinal();
    }

    public void log(String message) {
        log(message, LogLevel.UNDEFINED);
    }

    public void log(byte[] message) {
        log(message, LogLevel.UNDEFINED);
    }

    public void log(String message, LogLevel level) {
        if (level == null) {
            level = LogLevel.UNDEFINED;
        }
        if (!enabled(level)) {
            return;
        }
        if (format == LogFormat.JSON) {
            Map<String, Object> record = new LinkedHashMap<>();
            record.put("timestamp", TIMESTAMP.format(Instant.now()));
            if (message != null) {
                record.put("message", message);
            }
            record.put("level", level.name());
            String id = requestId;
            if (id != null) {
                record.put("AWSRequestId", id);
            }
            write(Json.write(record));
        } else if (level == LogLevel.UNDEFINED) {
            write(message);
        } else {
            write("[" + level.name() + "] " + message);
        }
    }

    /** Bytes are written as they are, whatever the format (as AWS's runtime does). */
    public void log(byte[] message, LogLevel level) {
        if (level == null) {
            level = LogLevel.UNDEFINED;
        }
        if (enabled(level)) {
            write(message == null ? null : new String(message, StandardCharsets.UTF_8));
        }
    }

    private static void write(String line) {
        if (line == null) {
            line = "null";
        }
        synchronized (System.out) {
            System.out.print(line.endsWith("\n") ? line : line + "\n");
            System.out.flush();
        }
    }
}
