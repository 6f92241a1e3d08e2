package com.amazonaws.services.lambda.runtime.logging;

/** Same constants as aws-lambda-java-core's LogLevel. */
public enum LogLevel {
    UNDEFINED, TRACE, DEBUG, INFO, WARN, ERROR, FATAL;

    public static LogLevel fromString(String logLevel) {
        try {
            return LogLevel.valueOf(logLevel.toUpperCase());
        } catch (Exception e) {
            return UNDEFINED;
        }
    }
}
