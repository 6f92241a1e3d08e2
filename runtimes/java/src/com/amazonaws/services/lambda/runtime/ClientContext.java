package com.amazonaws.services.lambda.runtime;

import java.util.Map;

/** Same signatures as aws-lambda-java-core's ClientContext. */
public interface ClientContext {
    Client getClient();

    Map<String, String> getCustom();

    Map<String, String> getEnvironment();
}
