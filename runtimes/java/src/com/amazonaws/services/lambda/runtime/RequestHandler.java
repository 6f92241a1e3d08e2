package com.amazonaws.services.lambda.runtime;

/** Same signature as aws-lambda-java-core's RequestHandler. */
public interface RequestHandler<I, O> {
    O handleRequest(I input, Context context);
}
