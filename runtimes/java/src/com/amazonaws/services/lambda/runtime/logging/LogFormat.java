package com.amazonaws.services.lambda.runtime.logging;

/** Same constants as aws-lambda-java-core's LogFormat. */
public enum LogFormat {
    JSON, TEXT;

    public static LogFormat fromString(String logFormat) {
        try {
            return LogFormat.valueOf(logFormat.toUpperCase());
        } catch (Exception e) {
            return TEXT;
        }
    }
}
