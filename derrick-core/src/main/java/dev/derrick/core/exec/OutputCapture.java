package dev.derrick.core.exec;

import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.StreamKind;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;

/**
 * Captures a command's stdout and stderr, each on its own and interleaved in write order, keeping at most
 * {@code maxBytes} of each in memory (the rest is counted and dropped, and {@link #truncated()} turns true), and
 * streams every chunk, decoded as UTF-8 without splitting a character, to an {@link OutputListener}.
 *
 * <p>Thread-safe: the two sinks may be written from two pump threads at once; interleaving follows the order in
 * which writes reach this object.
 */
public final class OutputCapture {
    /** Default cap per captured stream: 4 MiB. */
    public static final long DEFAULT_MAX_BYTES = 4L * 1024 * 1024;

    private final int maxBytes;
    private final OutputListener listener;
    private final Bounded stdout;
    private final Bounded stderr;
    private final Bounded combined;
    private final CharsetDecoder stdoutDecoder = decoder();
    private final CharsetDecoder stderrDecoder = decoder();
    private final ByteBuffer stdoutPending = ByteBuffer.allocate(8);
    private final ByteBuffer stderrPending = ByteBuffer.allocate(8);
    private volatile boolean truncated;
    private long totalBytes;

    public OutputCapture(long maxBytes, OutputListener listener) {
        if (maxBytes <= 0 || maxBytes > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxBytes must be between 1 and ~2 GiB, got " + maxBytes);
        }
        this.maxBytes = (int) maxBytes;
        this.listener = listener == null ? OutputListener.NONE : listener;
        this.stdout = new Bounded();
        this.stderr = new Bounded();
        this.combined = new Bounded();
    }

    /** A capture with the default cap and no listener. */
    public static OutputCapture withDefaults() {
        return new OutputCapture(DEFAULT_MAX_BYTES, OutputListener.NONE);
    }

    /** Where the process's standard output goes. */
    public OutputStream stdoutSink() {
        return new Sink(StreamKind.STDOUT);
    }

    /** Where the process's standard error goes. */
    public OutputStream stderrSink() {
        return new Sink(StreamKind.STDERR);
    }

    /** Whether any stream went past the cap. */
    public boolean truncated() {
        return truncated;
    }

    /** How many bytes were written in all, kept or not. */
    public synchronized long totalBytes() {
        return totalBytes;
    }

    /** Captured standard output so far. */
    public synchronized String stdout() {
        return stdout.text();
    }

    /** Captured standard error so far. */
    public synchronized String stderr() {
        return stderr.text();
    }

    /** Captured interleaved output so far. */
    public synchronized String output() {
        return combined.text();
    }

    /** The result of a finished command whose output went here. */
    public synchronized ExecResult toResult(int exitCode, Duration elapsed, boolean timedOut) {
        flushListener();
        return new ExecResult(exitCode, stdout.text(), stderr.text(), combined.text(), elapsed, timedOut, truncated);
    }

    synchronized void write(StreamKind kind, byte[] b, int off, int len) {
        if (len <= 0) {
            return;
        }
        totalBytes += len;
        (kind == StreamKind.STDOUT ? stdout : stderr).append(b, off, len);
        combined.append(b, off, len);
        if (listener != OutputListener.NONE) {
            String chunk = decode(kind, b, off, len);
            if (!chunk.isEmpty()) {
                try {
                    listener.onOutput(kind, chunk);
                } catch (RuntimeException e) {
                    // A failing listener must not break the command; it simply stops mattering.
                }
            }
        }
    }

    private String decode(StreamKind kind, byte[] b, int off, int len) {
        CharsetDecoder decoder = kind == StreamKind.STDOUT ? stdoutDecoder : stderrDecoder;
        ByteBuffer pending = kind == StreamKind.STDOUT ? stdoutPending : stderrPending;
        ByteBuffer in;
        if (pending.position() > 0) {
            pending.flip();
            in = ByteBuffer.allocate(pending.remaining() + len);
            in.put(pending).put(b, off, len).flip();
            pending.clear();
        } else {
            in = ByteBuffer.wrap(b, off, len);
        }
        CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
        decoder.decode(in, out, false);
        if (in.hasRemaining() && in.remaining() <= pending.capacity()) {
            pending.put(in);
        }
        out.flip();
        return out.toString();
    }

    private void flushListener() {
        if (listener == OutputListener.NONE) {
            return;
        }
        for (StreamKind kind : StreamKind.values()) {
            ByteBuffer pending = kind == StreamKind.STDOUT ? stdoutPending : stderrPending;
            if (pending.position() > 0) {
                pending.flip();
                byte[] rest = new byte[pending.remaining()];
                pending.get(rest);
                pending.clear();
                try {
                    listener.onOutput(kind, new String(rest, StandardCharsets.UTF_8));
                } catch (RuntimeException e) {
                    // ignored, as above
                }
            }
        }
    }

    private static CharsetDecoder decoder() {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
    }

    /** A byte buffer that stops growing at the cap. */
    private final class Bounded {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);

        void append(byte[] b, int off, int len) {
            int room = maxBytes - bytes.size();
            if (len > room) {
                truncated = true;
            }
            if (room > 0) {
                bytes.write(b, off, Math.min(room, len));
            }
        }

        String text() {
            return bytes.toString(StandardCharsets.UTF_8);
        }
    }

    private final class Sink extends OutputStream {
        private final StreamKind kind;

        Sink(StreamKind kind) {
            this.kind = Objects.requireNonNull(kind);
        }

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            OutputCapture.this.write(kind, b, off, len);
        }
    }
}
