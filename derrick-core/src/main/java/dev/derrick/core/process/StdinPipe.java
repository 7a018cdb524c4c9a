package dev.derrick.core.process;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An {@link InputStream} fed from other threads ({@link #write}), for a process's stdin. Unlike
 * {@link java.io.PipedInputStream} it does not care which thread writes, or whether that thread is still alive.
 */
public final class StdinPipe extends InputStream {
    private static final byte[] EOF = new byte[0];
    private final LinkedBlockingQueue<byte[]> chunks = new LinkedBlockingQueue<>();
    private byte[] current;
    private int pos;
    private volatile boolean closed;
    private boolean eof;

    /** Queues bytes for the reader. */
    public void write(byte[] data) throws IOException {
        if (closed) {
            throw new IOException("stdin is closed");
        }
        if (data.length > 0) {
            chunks.add(data.clone());
        }
    }

    /** The reader sees end of file after what was queued. Idempotent. */
    public void closeWriter() {
        if (!closed) {
            closed = true;
            chunks.add(EOF);
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (current == null || pos >= current.length) {
            if (eof) {
                return -1;
            }
            try {
                byte[] next = chunks.poll(1, TimeUnit.SECONDS);
                if (next == null) {
                    continue;
                }
                if (next == EOF) {
                    eof = true;
                    return -1;
                }
                current = next;
                pos = 0;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for stdin");
            }
        }
        int n = Math.min(len, current.length - pos);
        System.arraycopy(current, pos, b, off, n);
        pos += n;
        return n;
    }

    @Override
    public int available() {
        return current == null ? 0 : current.length - pos;
    }

    @Override
    public void close() {
        closeWriter();
    }
}
