package io.vessel.cli;

/** A mistake on the command line: printed with a pointer to the command's help, exit status 125 as docker's. */
final class UsageError extends Exception {
    UsageError(String message) {
        super(message);
    }
}
