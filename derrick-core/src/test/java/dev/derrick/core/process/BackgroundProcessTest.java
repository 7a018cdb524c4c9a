package dev.derrick.core.process;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ProcessOutput;
import dev.derrick.api.StreamKind;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bookkeeping of a background process, apart from any real process (those are in the TCK). */
class BackgroundProcessTest {
    final AtomicInteger kills = new AtomicInteger();
    final List<String> stdin = new CopyOnWriteArrayList<>();
    final BackgroundProcess.Control control = new BackgroundProcess.Control() {
        @Override
        public void writeStdin(byte[] data) {
            stdin.add(new String(data));
        }

        @Override
        public void closeStdin() {
            stdin.add("<eof>");
        }

        @Override
        public void killTree() {
            kills.incrementAndGet();
        }
    };

    @Test
    void offsetsCountEverythingWrittenAndOldOutputIsDropped() {
        BackgroundProcess p = new BackgroundProcess("p1", "cmd", 1024, control);
        p.output().onOutput(StreamKind.STDOUT, "a".repeat(1000));
        p.output().onOutput(StreamKind.STDERR, "b".repeat(1000));
        ProcessOutput all = p.readOutput(0);
        assertThat(all.dropped()).isTrue();
        assertThat(all.nextOffset()).isEqualTo(2000);
        assertThat(all.output()).endsWith("b".repeat(500)).hasSizeLessThanOrEqualTo(1024);
        assertThat(all.offset()).isEqualTo(2000 - all.output().length());
        ProcessOutput none = p.readOutput(2000);
        assertThat(none.output()).isEmpty();
        assertThat(none.dropped()).isFalse();
        p.output().onOutput(StreamKind.STDOUT, "tail");
        assertThat(p.readOutput(2000).output()).isEqualTo("tail");
        assertThat(p.readOutput(10_000).offset()).as("past the end reads from the end").isEqualTo(2004);
    }

    @Test
    void subscribersGetWhatIsKeptThenLiveOutputUntilTheEnd() throws Exception {
        BackgroundProcess p = new BackgroundProcess("p1", "cmd", 1 << 20, control);
        p.output().onOutput(StreamKind.STDOUT, "early ");
        List<String> got = new CopyOnWriteArrayList<>();
        AutoCloseable sub = p.subscribe(0, (k, c) -> got.add(c));
        p.output().onOutput(StreamKind.STDERR, "late");
        p.exited(3);
        p.output().onOutput(StreamKind.STDOUT, "after the end is not streamed");
        assertThat(got).containsExactly("early ", "late");
        sub.close();
        assertThat(p.waitFor(Duration.ZERO)).get().satisfies(r -> {
            assertThat(r.exitCode()).isEqualTo(3);
            assertThat(r.stderr()).isEqualTo("late");
        });
        assertThat(p.info().running()).isFalse();
    }

    @Test
    void stdinKillAndTimeout() {
        BackgroundProcess p = new BackgroundProcess("p1", "cmd", 1 << 20, control);
        p.writeStdin("x".getBytes());
        p.closeStdin();
        p.closeStdin();
        assertThat(stdin).containsExactly("x", "<eof>");
        assertThatThrownBy(() -> p.writeStdin("y".getBytes())).isInstanceOf(DerrickException.class).hasMessageContaining("closed");
        assertThat(p.waitFor(Duration.ofMillis(10))).isEmpty();
        p.timeout();
        assertThat(kills.get()).isEqualTo(1);
        p.exited(137);
        assertThat(p.kill().timedOut()).isTrue();
        assertThat(kills.get()).as("an ended process is not killed again").isEqualTo(1);
        assertThat(p.info().killed()).isTrue();
    }

    @Test
    void theTableBoundsRunningProcessesAndKillsThemOnClose() {
        ProcessTable table = new ProcessTable();
        BackgroundProcess p = new BackgroundProcess(table.nextId(), "cmd", 1024, new BackgroundProcess.Control() {
            @Override
            public void writeStdin(byte[] data) {
            }

            @Override
            public void closeStdin() {
            }

            @Override
            public void killTree() {
                kills.incrementAndGet();
            }
        });
        table.add(p);
        assertThat(table.find(p.id())).contains(p);
        Thread ender = new Thread(() -> {
            while (kills.get() == 0) {
                Thread.onSpinWait();
            }
            p.exited(143);
        });
        ender.start();
        table.close();
        assertThat(kills.get()).isEqualTo(1);
        assertThat(p.isAlive()).isFalse();
        assertThatThrownBy(() -> table.checkRoom("ws")).isInstanceOf(DerrickException.class).hasMessageContaining("closing");
    }
}
