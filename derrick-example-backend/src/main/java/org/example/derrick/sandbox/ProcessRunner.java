package org.example.derrick.sandbox;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OutputListener;
import dev.derrick.api.StreamKind;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs one process, capturing stdout and stderr separately and interleaved, with a byte cap and a timeout. */
final class ProcessRunner {
    static final long MAX_BYTES = 4L * 1024 * 1024;

    private ProcessRunner() {
    }

    static ExecResult run(List<String> command, Path dir, Map<String, String> env, Duration timeout,
                          OutputListener listener, java.util.function.Consumer<Process> started) {
        OutputListener out = listener == null ? OutputListener.NONE : listener;
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().clear();
        builder.environment().putAll(env);
        long start = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new DerrickException("cannot start " + command.get(0) + ": " + e.getMessage(), e);
        }
        started.accept(process);
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // nothing to send
        }
        Capture capture = new Capture(out);
        Thread stdout = pump(process.getInputStream(), StreamKind.STDOUT, capture);
        Thread stderr = pump(process.getErrorStream(), StreamKind.STDERR, capture);
        boolean timedOut = false;
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                timedOut = true;
                kill(process);
                process.waitFor(10, TimeUnit.SECONDS);
            }
            stdout.join(5000);
            stderr.join(5000);
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while waiting for: " + String.join(" ", command), e);
        }
        // A command killed at its timeout exits 124, as under coreutils' timeout: the same in every provider.
        int exit = timedOut ? ExecResult.TIMED_OUT_EXIT_CODE : process.isAlive() ? -1 : process.exitValue();
        synchronized (capture) {
            return new ExecResult(exit, capture.stdout.toString(), capture.stderr.toString(), capture.all.toString(),
                    Duration.ofNanos(System.nanoTime() - start), timedOut, capture.truncated);
        }
    }

    static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private static Thread pump(InputStream in, StreamKind kind, Capture capture) {
        Thread t = new Thread(() -> {
            CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
            byte[] buffer = new byte[8192];
            ByteBuffer pending = ByteBuffer.allocate(8192 + 8);
            try (in) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    pending.put(buffer, 0, n).flip();
                    CharBuffer chars = CharBuffer.allocate(pending.remaining() + 1);
                    decoder.decode(pending, chars, false);
                    pending.compact();
                    chars.flip();
                    capture.add(kind, chars.toString(), n);
                }
                pending.flip();
                CharBuffer rest = CharBuffer.allocate(pending.remaining() + 2);
                decoder.decode(pending, rest, true);
                decoder.flush(rest);
                rest.flip();
                capture.add(kind, rest.toString(), 0);
            } catch (IOException ignored) {
                // the process ended or was killed
            }
        }, "sandbox-" + kind.name().toLowerCase(java.util.Locale.ROOT));
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static final class Capture {
        final StringBuilder stdout = new StringBuilder();
        final StringBuilder stderr = new StringBuilder();
        final StringBuilder all = new StringBuilder();
        final OutputListener listener;
        long bytes;
        boolean truncated;

        Capture(OutputListener listener) {
            this.listener = listener;
        }

        void add(StreamKind kind, String chunk, int size) {
            if (chunk.isEmpty()) {
                return;
            }
            synchronized (this) {
                if (bytes + size > MAX_BYTES) {
                    truncated = true;
                    return;
                }
                bytes += size;
                (kind == StreamKind.STDOUT ? stdout : stderr).append(chunk);
                all.append(chunk);
            }
            try {
                listener.onOutput(kind, chunk);
            } catch (RuntimeException ignored) {
                // a failing listener must not break the command
            }
        }
    }
}
