package com.amazonaws.services.lambda.runtime;

/**
 * The Lambda context object: same interface (and binary signatures) as
 * aws-lambda-java-core's {@code com.amazonaws.services.lambda.runtime.Context},
 * so user code compiled against the real library links against ours.
 */
public interface Context {
    String getAwsRequestId();

    String getLogGroupName();

    String getLogStreamName();

    String getFunctionName();

    String getFunctionVersion();

    String getInvokedFunctionArn();

    CognitoIdentity getIdentity();

    ClientContext getClientContext();

    int getRemainingTimeInMillis();

    int getMemoryLimitInMB();

    LambdaLogger getLogger();

    /** Added in aws-lambda-java-core 1.3 (tenant isolation); null when absent. */
    default String getTenantId() {
        return null;
    }

    /** Added in aws-lambda-java-core 1.2.3; null when the invoke is not traced. */
    default String getXrayTraceId() {
        return null;
    }
}
