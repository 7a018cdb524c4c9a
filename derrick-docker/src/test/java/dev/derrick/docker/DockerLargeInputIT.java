package dev.derrick.docker;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static dev.derrick.docker.DockerTestSupport.DEBIAN;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Commands, environments and setup scripts far past the kernel's 128 KiB argument limit run in docker workspaces
 * (they travel as files, not arguments): agents send megabyte heredocs.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DockerLargeInputIT {
    static DockerWorkspaceProvider provider;

    @BeforeAll
    static void setUp() {
        DockerTestSupport.requireEngine();
        provider = DockerWorkspaceProvider.open(Map.of(), DockerTestSupport.providerEnv());
    }

    @AfterAll
    static void tearDown() {
        if (provider != null) {
            provider.close();
        }
    }

    /** A heredoc writing {@code lines} numbered lines to {@code file}; returns the script and the file's expected bytes. */
    private static String[] heredoc(String file, int lines) {
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < lines; i++) {
            content.append("line ").append(i).append(" it's \"quoted\" $HOME `x` \\ end\n");
        }
        return new String[] {"cat > " + file + " <<'DERRICK_EOF'\n" + content + "DERRICK_EOF\n", content.toString()};
    }

    private static String sha256(String s) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void megabyteSetupScriptCommandAndEnvironmentRun() throws Exception {
        String[] setup = heredoc("/tmp/setup.txt", 30_000);   // ~1.2 MiB
        String bigValue = "v".repeat(300 * 1024) + "'quote'";
        assertThat(setup[0].length()).isGreaterThan(1024 * 1024);
        for (String image : new String[] {BUSYBOX, DEBIAN}) {
            try (Workspace ws = provider.create(WorkspaceConfig.builder("large-" + image.hashCode()).image(image)
                    .env(Map.of("BIG_ENV", bigValue)).setupScript(setup[0]).build())) {
                ExecResult sum = ws.exec(ExecRequest.of("sha256sum /tmp/setup.txt | cut -d' ' -f1"));
                assertThat(sum.output().strip()).as(image).isEqualTo(sha256(setup[1]));
                ExecResult env = ws.exec(ExecRequest.of("printf %s \"$BIG_ENV\" | wc -c"));
                assertThat(env.output().strip()).isEqualTo(String.valueOf(bigValue.length()));

                String[] cmd = heredoc("big.txt", 40_000);   // ~2 MiB command
                ExecResult r = ws.exec(ExecRequest.of(cmd[0] + "sha256sum big.txt | cut -d' ' -f1; echo \"$1-$0\" >/dev/null; pwd"));
                assertThat(r.exitCode()).as(r.output()).isZero();
                assertThat(r.stdout().lines().toList()).first().isEqualTo(sha256(cmd[1]));
                // a large command still runs in the working directory with its own environment, and its timeout holds
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> ws.exec(new ExecRequest("x=" + "y".repeat(200_000),
                        "sub", Map.of("HUGE", "h".repeat(150_000)), java.time.Duration.ofSeconds(30))))
                        .isInstanceOf(dev.derrick.api.InvalidConfigException.class).hasMessageContaining("sub");
                ws.exec(ExecRequest.of("mkdir -p sub"));
                ExecResult again = ws.exec(new ExecRequest("x=" + "y".repeat(200_000) + "; pwd; echo \"$ONE\"",
                        "sub", Map.of("ONE", "1", "HUGE", "h".repeat(150_000)), java.time.Duration.ofSeconds(30)));
                assertThat(again.stdout()).endsWith("/sub\n1\n");
                ExecResult slow = ws.exec(new ExecRequest("sleep 30; : " + "z".repeat(100_000), null, Map.of(),
                        java.time.Duration.ofSeconds(1)));
                assertThat(slow.timedOut()).isTrue();
                // no script directory left behind in /tmp: only the one of this very command (BIG_ENV sends every
                // command of this workspace by file)
                ExecResult left = ws.exec(ExecRequest.of("find /tmp -maxdepth 1 -type d -name '.derrick-exec-*'"));
                assertThat(left.output().strip().lines()).hasSize(1);
            }
        }
    }
}
