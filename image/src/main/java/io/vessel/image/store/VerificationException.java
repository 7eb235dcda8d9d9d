package io.vessel.image.store;

import java.io.IOException;

/** Content that does not match the digest or size it was promised under; the message names both. */
public class VerificationException extends IOException {
    public VerificationException(String message) {
        super(message);
    }
}
