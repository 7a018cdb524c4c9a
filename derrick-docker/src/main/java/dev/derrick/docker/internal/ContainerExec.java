package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectExecResponse;
import com.github.dockerjava.api.model.Frame;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OutputListener;
import dev.derrick.core.exec.OutputCapture;
import dev.derrick.core.process.BackgroundProcess;
import dev.derrick.core.process.StdinPipe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Runs commands in a container through the Docker exec API.
 *
 * <p>Every command runs under a small {@code /bin/sh} wrapper that changes to the working directory, records its
 * pid in a file and runs the command with {@code bash} when the image has it, else {@code /bin/sh} (decided by the
 * wrapper itself, which costs no extra exec). A process started by {@code docker exec} leads its
 * own session and process group, so on timeout a second exec kills the whole group ({@code kill -KILL -pid}) inside
 * the container: the command, its children and their children.
 */
public final class ContainerExec {
    private static final Logger LOG = LoggerFactory.getLogger(ContainerExec.class);
    /** Shell argument meaning "bash when the image has it, else /bin/sh". */
    public static final String AUTO_SHELL = "auto";
    /** Exit code of the wrapper when the working directory does not exist. */
    private static final int NO_WORKDIR_EXIT = 200;
    private static final String NO_WORKDIR_MESSAGE = "derrick: no such working directory: ";
    private static final String WRAPPER = ""
            + "cd -- \"$3\" 2>/dev/null || { printf '" + NO_WORKDIR_MESSAGE + "%s\\n' \"$3\" >&2; exit "
            + NO_WORKDIR_EXIT + "; }\n"
            + "echo $$ > \"$4\" 2>/dev/null\n"
            + "s=$1\n"
            + "if [ \"$s\" = auto ]; then s=/bin/sh; command -v bash >/dev/null 2>&1 && s=bash; fi\n"
            + "\"$s\" -c \"$2\"\n"
            + "rc=$?\n"
            + "rm -f \"$4\"\n"
            + "exit $rc\n";
    /**
     * The wrapper for commands too large for arguments: {@code $5} is a directory holding {@code env} (exports,
     * sourced here) and {@code cmd} (the command, run as a script by the shell).
     */
    private static final String FILE_WRAPPER = ""
            + "cd -- \"$3\" 2>/dev/null || { printf '" + NO_WORKDIR_MESSAGE + "%s\\n' \"$3\" >&2; exit "
            + NO_WORKDIR_EXIT + "; }\n"
            + "echo $$ > \"$4\" 2>/dev/null\n"
            + ". \"$5/env\"\n"
            + "s=$1\n"
            + "if [ \"$s\" = auto ]; then s=/bin/sh; command -v bash >/dev/null 2>&1 && s=bash; fi\n"
            + "\"$s\" \"$5/cmd\"\n"
            + "rc=$?\n"
            + "rm -f \"$4\"\n"
            + "exit $rc\n";
    /**
     * Above this many bytes of command plus environment, they go to the container as files instead of arguments:
     * the kernel refuses a single argument or variable over 128 KiB and all of them together over ~2 MiB.
     */
    static final int INLINE_LIMIT = 64 * 1024;
    /** The kernel's limit on one environment string ({@code MAX_ARG_STRLEN}, 128 KiB), less a margin. */
    static final int MAX_VARIABLE_BYTES = 128 * 1024 - 64;
    private static final String KILLER = ""
            + "i=0\n"
            + "while [ $i -lt 20 ]; do\n"
            + "  if [ -s \"$1\" ]; then kill -KILL -\"$(cat \"$1\")\" 2>/dev/null; rm -f \"$1\"; exit 0; fi\n"
            + "  i=$((i+1)); sleep 0.1\n"
            + "done\n"
            + "exit 1\n";

    private final DockerClient client;
    private final String containerId;

    public ContainerExec(DockerClient client, String containerId) {
        this.client = client;
        this.containerId = containerId;
    }

    /**
     * Runs {@code command} with {@code shell -c}.
     *
     * @param shell      {@code auto} (bash if present, else sh) or the shell to use, e.g. {@code /bin/sh}
     * @param workingDir absolute container path
     * @param env        the command's extra environment (on top of the image's)
     * @throws InvalidConfigException when the working directory does not exist
     */
    public ExecResult run(String shell, String command, String workingDir, Map<String, String> env, Duration timeout,
                          long maxOutputBytes, OutputListener listener) {
        String token = UUID.randomUUID().toString();
        String pidFile = "/tmp/.derrick-exec-" + token + ".pid";
        List<String> envList = new ArrayList<>(env.size());
        String scriptDir = null;
        String[] cmd;
        if (argumentBytes(command, env) <= INLINE_LIMIT) {
            env.forEach((k, v) -> envList.add(k + "=" + v));
            cmd = new String[] {"/bin/sh", "-c", WRAPPER, "derrick-exec", shell, command, workingDir, pidFile};
        } else {
            scriptDir = "/tmp/.derrick-exec-" + token;
            StringBuilder exports = new StringBuilder();
            StringBuilder shellOnly = new StringBuilder();
            env.forEach((k, v) -> {
                if (!k.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                    envList.add(k + "=" + v);   // not a shell name: only the engine can set it
                    return;
                }
                String assignment = k + "='" + v.replace("'", "'\\''") + "'\n";
                if (k.length() + 1 + v.getBytes(java.nio.charset.StandardCharsets.UTF_8).length < MAX_VARIABLE_BYTES) {
                    exports.append("export ").append(assignment);
                } else {
                    // The kernel refuses to start any program with a variable this large in its environment: the
                    // command's shell gets it as a shell variable, programs it starts do not.
                    shellOnly.append(assignment);
                }
            });
            client.copyArchiveToContainerCmd(containerId).withRemotePath("/")
                    .withTarInputStream(new java.io.ByteArrayInputStream(Tars.files(scriptDir.substring(1), Map.of(
                            "env", exports.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8),
                            "cmd", (shellOnly + command).getBytes(java.nio.charset.StandardCharsets.UTF_8)))))
                    .exec();
            // FILE_WRAPPER's $2 is unused: the positions stay those of WRAPPER
            cmd = new String[] {"/bin/sh", "-c", FILE_WRAPPER, "derrick-exec", shell, "", workingDir, pidFile, scriptDir};
        }
        try {
            return run(cmd, envList, workingDir, pidFile, timeout, maxOutputBytes, listener);
        } finally {
            if (scriptDir != null) {
                try {
                    runInternal(List.of("rm", "-rf", scriptDir), Duration.ofSeconds(30));
                } catch (RuntimeException e) {
                    LOG.debug("could not remove {} in container {}: {}", scriptDir, shortId(), e.toString());
                }
            }
        }
    }

    /** Bytes the command and its environment take as exec arguments. */
    static long argumentBytes(String command, Map<String, String> env) {
        long n = command.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        for (Map.Entry<String, String> e : env.entrySet()) {
            n += e.getKey().length() + 2 + e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        return n;
    }

    private ExecResult run(String[] cmd, List<String> envList, String workingDir, String pidFile, Duration timeout,
                           long maxOutputBytes, OutputListener listener) {
        OutputCapture capture = new OutputCapture(maxOutputBytes, listener);
        long start = System.nanoTime();
        String execId = client.execCreateCmd(containerId)
                .withCmd(cmd)
                .withEnv(envList)
                .withAttachStdout(true)
                .withAttachStderr(true)
                .exec().getId();
        FrameSink sink = new FrameSink(capture.stdoutSink(), capture.stderrSink());
        boolean timedOut = false;
        try {
            client.execStartCmd(execId).withDetach(false).withTty(false).exec(sink);
            if (!sink.awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                timedOut = true;
                LOG.debug("command in {} ran past {}; killing its process group", shortId(), timeout);
                kill(pidFile);
                if (!sink.awaitCompletion(10, TimeUnit.SECONDS)) {
                    LOG.warn("command in container {} did not end after SIGKILL; leaving it", shortId());
                }
            }
        } catch (InterruptedException e) {
            kill(pidFile);
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while running a command in workspace container " + shortId());
        } finally {
            closeQuietly(sink);
        }
        if (sink.error != null && !timedOut) {
            throw new DerrickException("running a command in container " + shortId() + " failed: "
                    + DockerEngine.reason(sink.error), sink.error);
        }
        Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
        int exitCode = exitCode(execId);
        if (exitCode == NO_WORKDIR_EXIT && capture.stderr().startsWith(NO_WORKDIR_MESSAGE)) {
            throw new InvalidConfigException("working directory '" + workingDir + "' does not exist in the workspace");
        }
        return capture.toResult(timedOut ? ExecResult.TIMED_OUT_EXIT_CODE : exitCode, elapsed, timedOut);
    }

    /**
     * Starts {@code command} in the background: the returned process gets the output as it comes, stdin goes to the
     * command, {@link BackgroundProcess#kill()} kills its process group, and {@code timeout} (if not {@code null})
     * kills it when it passes. A daemon thread per process waits for its end.
     */
    public BackgroundProcess start(String id, String shell, String command, String workingDir, Map<String, String> env,
                                   Duration timeout, long maxOutputBytes) {
        String pidFile = "/tmp/.derrick-exec-" + UUID.randomUUID() + ".pid";
        List<String> envList = new ArrayList<>(env.size());
        env.forEach((k, v) -> envList.add(k + "=" + v));
        StdinPipe stdin = new StdinPipe();
        BackgroundProcess[] self = new BackgroundProcess[1];
        BackgroundProcess process = new BackgroundProcess(id, command, maxOutputBytes, new BackgroundProcess.Control() {
            @Override
            public void writeStdin(byte[] data) throws IOException {
                stdin.write(data);
            }

            @Override
            public void closeStdin() {
                stdin.closeWriter();
            }

            @Override
            public void killTree() {
                kill(pidFile);
            }
        });
        self[0] = process;
        String execId = client.execCreateCmd(containerId)
                .withCmd("/bin/sh", "-c", WRAPPER, "derrick-exec", shell, command, workingDir, pidFile)
                .withEnv(envList)
                .withAttachStdin(true)
                .withAttachStdout(true)
                .withAttachStderr(true)
                .exec().getId();
        OutputCapture capture = new OutputCapture(1, process.output());
        FrameSink sink = new FrameSink(capture.stdoutSink(), capture.stderrSink());
        client.execStartCmd(execId).withDetach(false).withTty(false).withStdIn(stdin).exec(sink);
        Thread waiter = new Thread(() -> {
            long deadline = timeout == null ? Long.MAX_VALUE : System.nanoTime() + timeout.toNanos();
            try {
                // not sink.awaitCompletion(timeout): that closes the stream when the timeout passes
                while (!sink.ended.await(200, TimeUnit.MILLISECONDS)) {
                    if (System.nanoTime() >= deadline) {
                        deadline = Long.MAX_VALUE;
                        process.timeout();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                closeQuietly(sink);
                stdin.closeWriter();
                capture.toResult(0, Duration.ZERO, false); // flushes a split character to the listener
            }
            int code;
            try {
                code = exitCode(execId);
            } catch (RuntimeException e) {
                code = -1;
            }
            process.exited(code);
        }, "derrick-docker-process-" + id);
        waiter.setDaemon(true);
        waiter.start();
        return process;
    }

    /** Runs a short internal command as root and returns its result; no timeout kill, output small. */
    public ExecResult runInternal(List<String> cmd, Duration timeout) {
        OutputCapture capture = new OutputCapture(1 << 20, OutputListener.NONE);
        long start = System.nanoTime();
        String execId = client.execCreateCmd(containerId).withCmd(cmd.toArray(String[]::new)).withUser("0")
                .withAttachStdout(true).withAttachStderr(true).exec().getId();
        FrameSink sink = new FrameSink(capture.stdoutSink(), capture.stderrSink());
        try {
            client.execStartCmd(execId).withDetach(false).withTty(false).exec(sink);
            if (!sink.awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new DerrickException("internal command " + cmd.get(0) + " in container " + shortId()
                        + " did not finish within " + timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while running a command in workspace container " + shortId());
        } finally {
            closeQuietly(sink);
        }
        if (sink.error != null) {
            throw new DerrickException("running a command in container " + shortId() + " failed: "
                    + DockerEngine.reason(sink.error), sink.error);
        }
        return capture.toResult(exitCode(execId), Duration.ofNanos(System.nanoTime() - start), false);
    }

    private void kill(String pidFile) {
        try {
            ExecResult r = runInternal(List.of("/bin/sh", "-c", KILLER, "derrick-kill", pidFile), Duration.ofSeconds(10));
            if (r.exitCode() != 0) {
                LOG.warn("could not find the process group of a timed-out command in container {}", shortId());
            }
        } catch (RuntimeException e) {
            LOG.warn("could not kill a timed-out command in container {}: {}", shortId(), e.getMessage());
        }
    }

    private int exitCode(String execId) {
        for (int attempt = 0; attempt < 50; attempt++) {
            InspectExecResponse inspect = client.inspectExecCmd(execId).exec();
            if (!Boolean.TRUE.equals(inspect.isRunning()) && inspect.getExitCodeLong() != null) {
                return inspect.getExitCodeLong().intValue();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return -1;
    }

    private String shortId() {
        return containerId.length() > 12 ? containerId.substring(0, 12) : containerId;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // the stream is already done
        }
    }

    /** Writes each multiplexed frame into the capture sink of its stream. */
    private static final class FrameSink extends ResultCallback.Adapter<Frame> {
        private final OutputStream stdout;
        private final OutputStream stderr;
        private volatile Throwable error;
        /** Counted down when the stream ends (completed, failed or closed). */
        final java.util.concurrent.CountDownLatch ended = new java.util.concurrent.CountDownLatch(1);

        FrameSink(OutputStream stdout, OutputStream stderr) {
            this.stdout = stdout;
            this.stderr = stderr;
        }

        @Override
        public void onNext(Frame frame) {
            try {
                switch (frame.getStreamType()) {
                    case STDERR -> stderr.write(frame.getPayload());
                    case STDOUT, RAW -> stdout.write(frame.getPayload());
                    default -> { }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        @Override
        public void onComplete() {
            super.onComplete();
            ended.countDown();
        }

        @Override
        public void close() throws IOException {
            try {
                super.close();
            } finally {
                ended.countDown();
            }
        }

        @Override
        public void onError(Throwable throwable) {
            error = throwable;
            ended.countDown();
            try {
                close();
            } catch (IOException ignored) {
                // closing after an error
            }
        }
    }
}
