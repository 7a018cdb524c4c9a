package dev.derrick.local.internal.sandbox;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A process started in a {@link Sandbox} without waiting for it: raw stdin/stdout/stderr, its exit, and a kill
 * switch for everything it started. With cgroups (root provider) the process and all its descendants — setsid,
 * double-forked, changed directory, whatever — live in a cgroup of their own, and {@link #kill()} ends them all;
 * without (non-root provider), {@link #kill()} ends the process tree it can still see, and the rest ends with the
 * sandbox.
 *
 * <p>The caller must drain {@link #stdout()} and {@link #stderr()} (or close them) so the process never blocks on a
 * full pipe, and call {@link #release()} (leave its background processes running until the sandbox closes) or
 * {@link #close()} (kill everything it started) when done.
 */
public final class SandboxProcess implements AutoCloseable {
    private final Sandbox sandbox;
    private final Process process;
    private final Path cgroup;
    private final AtomicBoolean released = new AtomicBoolean();
    private final OutputStream stdin;

    /** @param scriptWriter the thread still sending the script on stdin, or {@code null} */
    SandboxProcess(Sandbox sandbox, Process process, Path cgroup, Thread scriptWriter) {
        this.sandbox = sandbox;
        this.process = process;
        this.cgroup = cgroup;
        OutputStream raw = process.getOutputStream();
        this.stdin = scriptWriter == null ? raw : new java.io.FilterOutputStream(raw) {
            private void awaitScript() throws IOException {
                try {
                    scriptWriter.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while the script was being sent");
                }
            }

            @Override
            public void write(int b) throws IOException {
                awaitScript();
                out.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                awaitScript();
                out.write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                awaitScript();
                out.flush();
            }

            @Override
            public void close() throws IOException {
                awaitScript();
                out.close();
            }
        };
    }

    /**
     * The process's standard input (already closed unless the launch asked to keep it open). What is written here
     * reaches the process after its script, when the script itself travels on stdin.
     */
    public OutputStream stdin() {
        return stdin;
    }

    public InputStream stdout() {
        return process.getInputStream();
    }

    public InputStream stderr() {
        return process.getErrorStream();
    }

    /** Host pid of the launcher process (nsenter); the command itself runs in the sandbox's namespaces. */
    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for the command's shell to exit; returns its exit code (128 + n when killed by signal n). */
    public int waitFor() throws InterruptedException {
        return process.waitFor();
    }

    /** Waits at most {@code limit}; returns whether it exited. */
    public boolean waitFor(Duration limit) throws InterruptedException {
        return process.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** The exit code; throws {@link IllegalThreadStateException} while it runs. */
    public int exitCode() {
        return process.exitValue();
    }

    /** Whether anything it started is still running (its cgroup is populated); without cgroups: its shell. */
    public boolean anythingRunning() {
        return cgroup != null ? SandboxCgroups.populated(cgroup) : process.isAlive();
    }

    /** Kills the process and everything it started; returns once they are gone (at most ~5 s). */
    public void kill() {
        if (cgroup != null) {
            SandboxCgroups.kill(cgroup);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (SandboxCgroups.populated(cgroup) && System.nanoTime() < deadline) {
                SandboxCgroups.sleepMillis(2);
            }
        } else {
            List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
            tree.forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Done with it: background processes it left keep running until the sandbox closes (their cgroup is removed
     * once empty). Idempotent.
     */
    public void release() {
        if (released.compareAndSet(false, true)) {
            closeQuietly(stdin);
            sandbox.released(this);
        }
    }

    /** Kills everything it started and releases it. */
    @Override
    public void close() {
        kill();
        release();
        closeQuietly(process.getInputStream());
        closeQuietly(process.getErrorStream());
    }

    Path cgroup() {
        return cgroup;
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    @Override
    public String toString() {
        return "SandboxProcess[" + process.pid() + (cgroup == null ? "" : ", " + cgroup.getFileName()) + "]";
    }
}
