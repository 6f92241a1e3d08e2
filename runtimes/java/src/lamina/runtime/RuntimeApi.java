package lamina.runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Runtime API client over HttpURLConnection (keep-alive, no read timeout so
 * /next can block indefinitely). Like AWS's Java runtime, error POSTs carry
 * "Lambda-Runtime-Function-Error-Type: Runtime.UserException" (handler threw)
 * or "Runtime.BadFunctionCode" (user fault: class not found, bad handler...).
 */
final class RuntimeApi {
    static final class Invocation {
        String requestId;
        long deadlineMs;
        String functionArn;
        String traceId;
        String clientContext;
        String cognitoIdentity;
        String tenantId;
        byte[] body;
    }

    private final String base;

    RuntimeApi(String hostPort) {
        this.base = "http://" + hostPort + "/2018-06-01/runtime";
    }

    Invocation next() throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(base + "/invocation/next").openConnection();
        c.setConnectTimeout(0);
        c.setReadTimeout(0);
        int status = c.getResponseCode();
        byte[] body = readAll(status >= 400 ? c.getErrorStream() : c.getInputStream());
        if (status != 200) {
            throw new IOException("Failed to get next invocation: HTTP " + status);
        }
        Invocation inv = new Invocation();
        inv.requestId = c.getHeaderField("Lambda-Runtime-Aws-Request-Id");
        String deadline = c.getHeaderField("Lambda-Runtime-Deadline-Ms");
        inv.deadlineMs = deadline == null ? 0 : Long.parseLong(deadline.trim());
        inv.functionArn = c.getHeaderField("Lambda-Runtime-Invoked-Function-Arn");
        inv.traceId = c.getHeaderField("Lambda-Runtime-Trace-Id");
        inv.clientContext = c.getHeaderField("Lambda-Runtime-Client-Context");
        inv.cognitoIdentity = c.getHeaderField("Lambda-Runtime-Cognito-Identity");
        inv.tenantId = c.getHeaderField("Lambda-Runtime-Aws-Tenant-Id");
        inv.body = body;
        return inv;
    }

    void postResponse(String requestId, byte[] payload) throws IOException {
        post(base + "/invocation/" + requestId + "/response", payload, Map.of());
    }

    void postError(String requestId, String rapidErrorType, byte[] body) throws IOException {
        post(base + "/invocation/" + requestId + "/error", body,
                Map.of("Lambda-Runtime-Function-Error-Type", rapidErrorType));
    }

    void postInitError(String rapidErrorType, byte[] body) throws IOException {
        post(base + "/init/error", body, Map.of("Lambda-Runtime-Function-Error-Type", rapidErrorType));
    }

    private void post(String url, byte[] payload, Map<String, String> headers) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
        c.setRequestMethod("POST");
        c.setRequestProperty("Content-Type", "application/json");
        for (Map.Entry<String, String> h : headers.entrySet()) {
            c.setRequestProperty(h.getKey(), h.getValue());
        }
        c.setFixedLengthStreamingMode(payload.length);
        c.setDoOutput(true);
        try (OutputStream out = c.getOutputStream()) {
            out.write(payload);
        }
        int status = c.getResponseCode();
        readAll(status >= 400 ? c.getErrorStream() : c.getInputStream());
        if (status != 202) {
            throw new IOException("Request to Lambda Runtime '" + url + "' failed: HTTP " + status);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        if (in == null) {
            return new byte[0];
        }
        try (InputStream is = in) {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            is.transferTo(bos);
            return bos.toByteArray();
        }
    }

    /** {errorMessage, errorType[, stackTrace]} as AWS's Java runtime serialises it (nulls omitted). */
    static byte[] errorBody(String message, String type, String[] stackTrace) {
        StringBuilder sb = new StringBuilder("{");
        boolean first = true;
        if (message != null) {
            sb.append("\"errorMessage\":");
            Json.quote(message, sb);
            first = false;
        }
        if (type != null) {
            sb.append(first ? "" : ",").append("\"errorType\":");
            Json.quote(type, sb);
            first = false;
        }
        if (stackTrace != null) {
            sb.append(first ? "" : ",").append("\"stackTrace\":[");
            for (int i = 0; i < stackTrace.length; i++) {
                if (i > 0) {
                    sb.append(',');
                }
                Json.quote(stackTrace[i], sb);
            }
            sb.append(']');
        }
        return sb.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }
}
