package dev.derrick.core.exec;

import dev.derrick.api.ExecResult;
import dev.derrick.api.StreamKind;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class OutputCaptureTest {
    @Test
    void keepsStreamsApartAndInterleavedInWriteOrder() throws IOException {
        OutputCapture capture = OutputCapture.withDefaults();
        OutputStream out = capture.stdoutSink();
        OutputStream err = capture.stderrSink();
        out.write("out1\n".getBytes(StandardCharsets.UTF_8));
        err.write("err1\n".getBytes(StandardCharsets.UTF_8));
        out.write("out2\n".getBytes(StandardCharsets.UTF_8));

        ExecResult result = capture.toResult(3, Duration.ofMillis(5), false);

        assertThat(result.stdout()).isEqualTo("out1\nout2\n");
        assertThat(result.stderr()).isEqualTo("err1\n");
        assertThat(result.output()).isEqualTo("out1\nerr1\nout2\n");
        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.truncated()).isFalse();
    }

    @Test
    void capsMemoryAndMarksTruncated() throws IOException {
        OutputCapture capture = new OutputCapture(10, null);
        capture.stdoutSink().write("0123456789abcdef".getBytes(StandardCharsets.UTF_8));
        ExecResult result = capture.toResult(0, Duration.ZERO, false);
        assertThat(result.stdout()).isEqualTo("0123456789");
        assertThat(result.truncated()).isTrue();
        assertThat(capture.totalBytes()).isEqualTo(16);
    }

    @Test
    void streamsWholeCharactersEvenWhenAWriteSplitsOne() throws IOException {
        List<String> chunks = new ArrayList<>();
        OutputCapture capture = new OutputCapture(1024, (kind, chunk) -> {
            if (kind == StreamKind.STDOUT) {
                chunks.add(chunk);
            }
        });
        byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
        OutputStream out = capture.stdoutSink();
        out.write(euro, 0, 1);
        out.write(euro, 1, 2);
        out.write('\n');
        capture.toResult(0, Duration.ZERO, false);
        assertThat(String.join("", chunks)).isEqualTo("€\n");
        assertThat(chunks).allSatisfy(c -> assertThat(c).doesNotContain("\uFFFD"));
    }
}
