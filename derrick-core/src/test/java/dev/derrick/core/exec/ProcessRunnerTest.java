package dev.derrick.core.exec;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.StreamKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class ProcessRunnerTest {
    @TempDir
    Path dir;

    final ProcessRunner runner = new ProcessRunner();
    final String marker = "m" + UUID.randomUUID().toString().replace("-", "");

    @AfterEach
    void close() {
        runner.close();
    }

    Map<String, String> env(String... kv) {
        Map<String, String> env = new LinkedHashMap<>(new CommandEnvironment(System.getenv()).base());
        env.put("DERRICK_TEST_MARKER", marker);
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    ExecResult run(String command) {
        return runner.run(ProcessSpec.of(command, dir, env()));
    }

    /** pids of live processes whose environment carries this test's marker. */
    List<Long> marked() {
        List<Long> pids = new ArrayList<>();
        byte[] needle = ("DERRICK_TEST_MARKER=" + marker).getBytes(StandardCharsets.UTF_8);
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path p : procs) {
                try {
                    String state = Files.readString(p.resolve("stat"), StandardCharsets.ISO_8859_1);
                    if (state.substring(state.lastIndexOf(')') + 2).startsWith("Z")) {
                        continue;
                    }
                    byte[] environ = Files.readAllBytes(p.resolve("environ"));
                    if (indexOf(environ, needle) >= 0) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException | RuntimeException e) {
                    // gone or not readable
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return pids;
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** The marked processes, once there is one (a process between fork and exec shows no environ for a moment). */
    List<Long> awaitMarked() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        List<Long> found = marked();
        while (found.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
            found = marked();
        }
        return found;
    }

    void awaitNoMarked() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (!marked().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(marked()).as("processes left running").isEmpty();
    }

    @Test
    void exitCodesAreData() {
        assertThat(run("true").exitCode()).isZero();
        assertThat(run("false").exitCode()).isEqualTo(1);
        assertThat(run("exit 42").exitCode()).isEqualTo(42);
        assertThat(run("no-such-command-xyz").exitCode()).isEqualTo(127);
    }

    @Test
    void separatesStdoutAndStderr() {
        ExecResult r = run("echo to-out; echo to-err >&2");
        assertThat(r.stdout()).isEqualTo("to-out\n");
        assertThat(r.stderr()).isEqualTo("to-err\n");
        assertThat(r.output()).contains("to-out\n").contains("to-err\n");
        assertThat(r.succeeded()).isTrue();
        assertThat(r.timedOut()).isFalse();
    }

    @Test
    void keepsOrderOfWritesAcrossStreamsWhenTheyAreApart() {
        ExecResult r = run("for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done");
        assertThat(r.output()).isEqualTo("out1\nerr1\nout2\nerr2\nout3\nerr3\n");
    }

    @Test
    void environmentIsExactlyTheGivenOne() {
        Map<String, String> env = Map.of("PATH", CommandEnvironment.DEFAULT_PATH, "ONLY_THIS", "yes");
        ExecResult r = runner.run(ProcessSpec.of("env", dir, env));
        List<String> names = r.stdout().lines().map(l -> l.substring(0, l.indexOf('='))).toList();
        // bash adds PWD, SHLVL and _ on its own
        assertThat(names).containsExactlyInAnyOrder("PATH", "ONLY_THIS", "PWD", "SHLVL", "_");
    }

    @Test
    void runsInTheWorkingDirectoryWithShellFeatures() throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        ExecResult r = runner.run(ProcessSpec.of("pwd; cat <<'EOF'\n$NOT_EXPANDED\nEOF\nx=2\necho $((x * 21)) | tr 4 X",
                dir.resolve("sub"), env()));
        assertThat(r.stdout()).isEqualTo(dir.resolve("sub").toRealPath() + "\n$NOT_EXPANDED\nX2\n");
    }

    @Test
    void missingWorkingDirectoryIsAClearError() {
        assertThatThrownBy(() -> runner.run(ProcessSpec.of("true", dir.resolve("nope"), env())))
                .isInstanceOf(DerrickException.class).hasMessageContaining("nope").hasMessageContaining("does not exist");
    }

    @Test
    void timeoutKillsTheWholeTree() throws InterruptedException {
        long start = System.nanoTime();
        ExecResult r = runner.run(ProcessSpec.of("sleep 60 & (sleep 60; echo never) & echo started; sleep 60", dir, env())
                .withTimeout(Duration.ofSeconds(1)));
        long millis = (System.nanoTime() - start) / 1_000_000;

        assertThat(r.timedOut()).isTrue();
        assertThat(r.exitCode()).isEqualTo(ExecResult.TIMED_OUT_EXIT_CODE);
        assertThat(r.succeeded()).isFalse();
        assertThat(r.stdout()).isEqualTo("started\n");
        assertThat(millis).isLessThan(4000);
        awaitNoMarked();
    }

    @Test
    void timeoutKillsATreeThatIgnoresSigterm() throws InterruptedException {
        ExecResult r = runner.run(ProcessSpec.of("trap '' TERM; sleep 60 & trap '' TERM; sleep 60", dir, env())
                .withTimeout(Duration.ofMillis(500)));
        assertThat(r.timedOut()).isTrue();
        awaitNoMarked();
    }

    @Test
    void backgroundProcessHoldingThePipesDoesNotHangTheCall() throws InterruptedException {
        long start = System.nanoTime();
        ExecResult r = run("sleep 30 & echo done");
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5000);
        assertThat(r.stdout()).isEqualTo("done\n");
        assertThat(r.exitCode()).isZero();
        assertThat(awaitMarked()).as("background sleep keeps running until killAll").isNotEmpty();

        runner.killAll();
        awaitNoMarked();
    }

    @Test
    void closeKillsDaemonizedLeftoversAndRefusesNewCommands() throws InterruptedException {
        ExecResult r = run("nohup sleep 30 >/dev/null 2>&1 & echo ok");
        assertThat(r.stdout()).isEqualTo("ok\n");
        assertThat(awaitMarked()).isNotEmpty();

        runner.close();
        awaitNoMarked();
        assertThatThrownBy(() -> run("true")).isInstanceOf(DerrickException.class).hasMessageContaining("closed");
        runner.close();
    }

    /** A kill right after start may come before setsid(2) ran, when the session scan finds nothing yet. */
    @Test
    void aStartedProcessKilledAtOnceIsGoneEveryTime() throws InterruptedException {
        for (int i = 0; i < 50; i++) {
            ProcessRunner.Started s = runner.start(ProcessSpec.of("sleep 300", dir, env()));
            s.killTree();
            assertThat(s.process().waitFor(5, TimeUnit.SECONDS)).as("round %d: killed at once", i).isTrue();
            s.finished();
        }
        awaitNoMarked();
    }

    @Test
    void forgetsFinishedSessionsThatHaveNoProcessLeft() throws InterruptedException {
        run("nohup sleep 30 >/dev/null 2>&1 &");
        for (int i = 0; i < 40; i++) {
            run("true");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (runner.rememberedSessions() > 33 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(runner.rememberedSessions()).isLessThanOrEqualTo(33);
        assertThat(awaitMarked()).isNotEmpty();
        runner.killAll();
        awaitNoMarked();
        assertThat(runner.rememberedSessions()).isZero();
    }

    @Test
    void killAllEndsRunningCommands() throws Exception {
        CompletableFuture<ExecResult> running = CompletableFuture.supplyAsync(() -> run("sleep 60"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (marked().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(runner.liveCount()).isEqualTo(1);
        runner.killAll();
        ExecResult r = running.get(5, TimeUnit.SECONDS);
        assertThat(r.exitCode()).isNotZero();
        awaitNoMarked();
        assertThat(runner.liveCount()).isZero();
    }

    @Test
    void startedCommandsTakeStdinAndTheirTreeIsKilledThenAndOnClose() throws Exception {
        ProcessRunner.Started a = runner.start(ProcessSpec.of("read x; echo \"got $x\"; (sleep 301 &); sleep 300", dir, env()));
        a.stdin().write("hi\n".getBytes(StandardCharsets.UTF_8));
        a.stdin().flush();
        byte[] line = new byte[7];
        assertThat(a.stdout().readNBytes(line, 0, 7)).isEqualTo(7);
        assertThat(new String(line, StandardCharsets.UTF_8)).isEqualTo("got hi\n");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (marked().size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(marked()).hasSizeGreaterThanOrEqualTo(2);
        a.killTree();
        assertThat(a.process().waitFor(5, TimeUnit.SECONDS)).isTrue();
        a.finished();
        awaitNoMarked();

        // one that ended leaving a daemon, and one still running: close() ends both
        ProcessRunner.Started b = runner.start(ProcessSpec.of("(sleep 302 >/dev/null 2>&1 &); exit 3", dir, env()));
        assertThat(b.process().waitFor(5, TimeUnit.SECONDS)).isTrue();
        assertThat(b.process().exitValue()).isEqualTo(3);
        b.finished();
        ProcessRunner.Started c = runner.start(ProcessSpec.of("sleep 303", dir, env()));
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (marked().size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(marked()).hasSize(2);
        runner.close();
        awaitNoMarked();
        assertThat(c.process().isAlive()).isFalse();
        assertThatThrownBy(() -> runner.start(ProcessSpec.of("true", dir, env())))
                .isInstanceOf(DerrickException.class).hasMessageContaining("closed");
    }

    @Test
    void capsOutputWithoutGrowing() {
        ExecResult r = runner.run(ProcessSpec.of("head -c 50000000 /dev/zero | tr '\\0' x; echo tail >&2", dir, env())
                .withMaxOutputBytes(1024 * 1024));
        assertThat(r.truncated()).isTrue();
        assertThat(r.stdout()).hasSize(1024 * 1024);
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void streamsOutputToTheListener() {
        List<String> chunks = new CopyOnWriteArrayList<>();
        ExecResult r = runner.run(ProcessSpec.of("echo a; echo b >&2", dir, env()),
                (kind, chunk) -> chunks.add(kind + ":" + chunk));
        assertThat(String.join("", chunks)).contains("STDOUT:a\n").contains("STDERR:b\n");
        assertThat(r.stdout()).isEqualTo("a\n");
        assertThat(StreamKind.values()).hasSize(2);
    }

    @Test
    void withoutSetsidStillKillsDescendantsAndUsesPlainSh() throws InterruptedException {
        try (ProcessRunner plain = new ProcessRunner(new ProcessRunner.Shell(Path.of("/bin/sh"), null),
                Duration.ofMillis(300), Duration.ofMillis(300))) {
            assertThat(plain.isolatesSessions()).isFalse();
            ExecResult r = plain.run(ProcessSpec.of("echo $0; sleep 60", dir, env()).withTimeout(Duration.ofMillis(500)));
            assertThat(r.stdout()).isEqualTo("/bin/sh\n");
            assertThat(r.timedOut()).isTrue();
            awaitNoMarked();
        }
    }

    @Test
    void interruptKillsTheCommandAndKeepsTheFlag() throws Exception {
        Thread caller = Thread.currentThread();
        CompletableFuture.runAsync(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (marked().isEmpty() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            caller.interrupt();
        });
        assertThatThrownBy(() -> run("sleep 60")).isInstanceOf(DerrickException.class).hasMessageContaining("interrupted");
        assertThat(Thread.interrupted()).isTrue();
        awaitNoMarked();
    }

    @Test
    void usesBashWithASessionOfItsOwnHere() {
        assertThat(runner.shell().shell().toString()).endsWith("bash");
        assertThat(runner.isolatesSessions()).isTrue();
        ExecResult r = run("ps -o sid= -p $$ 2>/dev/null || cut -d' ' -f6 /proc/$$/stat; echo $$");
        String[] lines = r.stdout().trim().split("\\s+");
        assertThat(lines[0]).isEqualTo(lines[1]);
    }
}
