package io.vessel.image.store;

import java.io.IOException;

/** No image matches what was asked for; the message is Docker's, e.g. {@code No such image: busybox:latest}. */
public class ImageNotFoundException extends IOException {
    public ImageNotFoundException(String what) {
        super("No such image: " + what);
    }
}
