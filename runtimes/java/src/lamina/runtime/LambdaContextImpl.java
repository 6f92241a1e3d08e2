package lamina.runtime;

import com.amazonaws.services.lambda.runtime.Client;
import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import java.util.Map;

/** The Context given to handlers; fields from the /next headers and the environment. */
final class LambdaContextImpl implements Context {
    private final String requestId;
    private final long deadlineMs;
    private final String arn;
    private final String traceId;
    private final String tenantId;
    private final CognitoIdentity identity;
    private final ClientContext clientContext;
    private final LambdaLogger logger;

    LambdaContextImpl(String requestId, long deadlineMs, String arn, String traceId, String tenantId,
                      String cognitoJson, String clientContextJson, LambdaLogger logger) {
        this.requestId = requestId;
        this.deadlineMs = deadlineMs;
        this.arn = arn;
        this.traceId = traceId;
        this.tenantId = tenantId;
        this.logger = logger;
        this.identity = cognitoJson == null || cognitoJson.isEmpty() ? null : cognito(asMap(Json.parse(cognitoJson)));
        this.clientContext = clientContextJson == null || clientContextJson.isEmpty()
                ? null : clientContext(asMap(Json.parse(clientContextJson)));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object o) {
        return o instanceof Map ? (Map<String, Object>) o : Map.of();
    }

    private static String str(Map<String, Object> m, String k) {
        Object v = m.get(k);
        return v == null ? null : v.toString();
    }

    private static CognitoIdentity cognito(Map<String, Object> m) {
        final String id = str(m, "cognitoIdentityId");
        final String pool = str(m, "cognitoIdentityPoolId");
        return new CognitoIdentity() {
            public String getIdentityId() {
                return id;
            }

            public String getIdentityPoolId() {
                return pool;
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static ClientContext clientContext(Map<String, Object> m) {
        final Map<String, Object> c = asMap(m.get("client"));
        final Client client = m.get("client") == null ? null : new Client() {
            public String getInstallationId() {
                return str(c, "installation_id");
            }

            public String getAppTitle() {
                return str(c, "app_title");
            }

            public String getAppVersionName() {
                return str(c, "app_version_name");
            }

            public String getAppVersionCode() {
                return str(c, "app_version_code");
            }

            public String getAppPackageName() {
                return str(c, "app_package_name");
            }
        };
        final Map<String, String> custom = (Map<String, String>) Pojo.convert(m.get("custom"), Map.class);
        final Map<String, String> env = (Map<String, String>) Pojo.convert(m.get("env"), Map.class);
        return new ClientContext() {
            public Client getClient() {
                return client;
            }

            public Map<String, String> getCustom() {
                return custom;
            }

            public Map<String, String> getEnvironment() {
                return env;
            }
        };
    }

    public String getAwsRequestId() {
        return requestId;
    }

    public String getLogGroupName() {
        return System.getenv("AWS_LAMBDA_LOG_GROUP_NAME");
    }

    public String getLogStreamName() {
        return System.getenv("AWS_LAMBDA_LOG_STREAM_NAME");
    }

    public String getFunctionName() {
        return System.getenv("AWS_LAMBDA_FUNCTION_NAME");
    }

    public String getFunctionVersion() {
        return System.getenv("AWS_LAMBDA_FUNCTION_VERSION");
    }

    public String getInvokedFunctionArn() {
        return arn;
    }

    public CognitoIdentity getIdentity() {
        return identity;
    }

    public ClientContext getClientContext() {
        return clientContext;
    }

    public int getRemainingTimeInMillis() {
        long left = deadlineMs - System.currentTimeMillis();
        return left > 0 ? (int) left : 0;
    }

    public int getMemoryLimitInMB() {
        try {
            return Integer.parseInt(System.getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"));
        } catch (Exception e) {
            return 128;
        }
    }

    public LambdaLogger getLogger() {
        return logger;
    }

    public String getTenantId() {
        return tenantId;
    }

    public String getXrayTraceId() {
        return traceId;
    }
}
