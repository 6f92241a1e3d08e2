package com.amazonaws.services.lambda.runtime;

/** Same signatures as aws-lambda-java-core's CognitoIdentity. */
public interface CognitoIdentity {
    String getIdentityId();

    String getIdentityPoolId();
}
