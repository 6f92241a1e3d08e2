package com.amazonaws.services.lambda.runtime;

import java.io.IOException;

/**
 * Static access to the function logger (aws-lambda-java-core's LambdaRuntime,
 * used e.g. by the log4j2 appender). The bootstrap replaces {@code logger}.
 */
public final class LambdaRuntime {
    private LambdaRuntime() {
    }

    private static volatile LambdaLogger logger = new LambdaLogger() {
        public void log(String message) {
            System.out.print(message);
        }

        public void log(byte[] message) {
            try {
                System.out.write(message);
            } catch (Exception e) {
                e.printStackTrace();
            }
        }
    };

    public static LambdaLogger getLogger() {
        return logger;
    }
}
