package io.vessel.image.store;

import io.vessel.image.Digest;
import io.vessel.image.Digester;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;

/**
 * A stream over a stored blob that hashes what it reads and, at end of stream, throws a
 * {@link VerificationException} if the content is not the blob's digest. A reader that closes
 * the stream before the end gets no verdict.
 */
final class VerifyingInputStream extends FilterInputStream {
    /** Size of the scratch buffer {@link #skip} reads through (skipped bytes must be hashed too). */
    private static final int SKIP_BUFFER = 8192;

    private final Digest expected;
    private final Path path;
    private final Digester digester;
    private boolean verified;
    private VerificationException failure;

    VerifyingInputStream(InputStream in, Digest expected, Path path) {
        super(in);
        this.expected = expected;
        this.path = path;
        this.digester = Digester.of(expected.algorithm());
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
            digester.update(b, off, n);
        } else if (n < 0) {
            verify();
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buffer = new byte[(int) Math.min(SKIP_BUFFER, Math.max(n, 1))];
        long skipped = 0;
        while (skipped < n) {
            int r = read(buffer, 0, (int) Math.min(buffer.length, n - skipped));
            if (r < 0) {
                break;
            }
            skipped += r;
        }
        return skipped;
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    @Override
    public synchronized void mark(int readlimit) {
        // not supported: a reset would hash bytes twice
    }

    @Override
    public synchronized void reset() throws IOException {
        throw new IOException("mark/reset not supported on a verifying blob stream");
    }

    private void verify() throws IOException {
        if (verified) {
            return;
        }
        if (failure != null) {
            throw failure;
        }
        long size = digester.size();
        Digest actual = digester.digest();
        if (!actual.equals(expected)) {
            failure = new VerificationException("blob " + expected + " at " + path + " is corrupt: its " + size
                    + " bytes hash to " + actual + "; delete it and fetch it again");
            throw failure;
        }
        verified = true;
    }
}
