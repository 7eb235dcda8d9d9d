package io.vessel.image;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/** Feeds every byte read through it to a {@link Digester}: how a layer's diff_id is computed on the way. */
public final class DigestingInputStream extends FilterInputStream {
    private final Digester digester;

    public DigestingInputStream(InputStream in, Digester digester) {
        super(in);
        this.digester = digester;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            digester.update(b, off, n);
        }
        return n;
    }

    /** Skipped bytes are read, so that the digest covers them too. */
    @Override
    public long skip(long n) throws IOException {
        if (n <= 0) {
            return 0;
        }
        byte[] buf = new byte[(int) Math.min(n, 8192)];
        return Math.max(read(buf, 0, buf.length), 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }
}
