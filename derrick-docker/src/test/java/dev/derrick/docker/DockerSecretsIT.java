package dev.derrick.docker;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static dev.derrick.docker.DockerTestSupport.DEBIAN;
import static org.assertj.core.api.Assertions.assertThat;

/** The git token is used on the provider side only: it appears nowhere in or on the container. */
@Timeout(180)
class DockerSecretsIT {
    static final String TOKEN = "sekrit-" + java.util.UUID.randomUUID();
    static final String INLINE_TOKEN = TOKEN;
    static GitTestServer git;
    static DockerWorkspaceProvider provider;
    static Workspace viaEnv;
    static Workspace inline;

    @BeforeAll
    static void setUp() {
        DockerTestSupport.requireEngine();
        git = GitTestServer.start(TOKEN);
        git.createRepository("app", Map.of("README.md", "hello\n"));
        provider = DockerWorkspaceProvider.open(Map.of(), DockerTestSupport.providerEnv("GIT_TOKEN", TOKEN));
        viaEnv = provider.create(WorkspaceConfig.builder("secret-env").image(BUSYBOX)
                .repository(RepositoryConfig.of(git.url("app"), "/code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript("env > /tmp/setup-env.txt").build());
        inline = provider.create(WorkspaceConfig.builder("secret-inline").image(DEBIAN)
                .repository(RepositoryConfig.of(git.url("app"), "code/app").withAuth(GitAuth.inline(INLINE_TOKEN)))
                .setupScript("env > /tmp/setup-env.txt; git -C /code/app config --list > /tmp/git-config.txt").build());
    }

    @AfterAll
    static void tearDown() {
        if (provider != null) {
            provider.close();
        }
        if (git != null) {
            git.close();
        }
    }

    @Test
    void notInTheExportedFileSystem() throws Exception {
        for (Workspace ws : List.of(viaEnv, inline)) {
            assertThat(exportContains("derrick-" + ws.id(), TOKEN.getBytes(StandardCharsets.UTF_8)))
                    .as("docker export of %s", ws.id()).isFalse();
            // The check can find things: the repository's content is in the export.
            assertThat(exportContains("derrick-" + ws.id(), "hello\n".getBytes(StandardCharsets.UTF_8))).isTrue();
        }
    }

    @Test
    void notInInspectEnvLabelsOrCommand() throws Exception {
        for (Workspace ws : List.of(viaEnv, inline)) {
            String inspect = DockerTestSupport.dockerCliText("inspect", "derrick-" + ws.id());
            assertThat(inspect).contains("derrick.workspace").doesNotContain(TOKEN);
        }
    }

    @Test
    void notInTheEnvironmentNorTheGitConfig() {
        for (Workspace ws : List.of(viaEnv, inline)) {
            assertThat(ws.exec("env").stdout()).contains("PATH=").doesNotContain(TOKEN).doesNotContain("GIT_TOKEN");
            assertThat(ws.readString("/tmp/setup-env.txt")).doesNotContain(TOKEN);
            String gitConfig = ws.readString("/code/app/.git/config");
            assertThat(gitConfig).contains(git.url("app")).doesNotContain(TOKEN).doesNotContain("@127.0.0.1");
            // The token is split in two so that not even this search puts it into the container.
            int half = TOKEN.length() / 2;
            assertThat(ws.exec(ExecRequest.of("grep -r -l -F \"$A$B\" /code /tmp /root /etc; echo searched")
                    .withEnv(Map.of("A", TOKEN.substring(0, half), "B", TOKEN.substring(half)))).stdout())
                    .isEqualTo("searched\n");
        }
        assertThat(inline.readString("/tmp/git-config.txt")).doesNotContain(TOKEN);
        assertThat(inline.info().toString()).doesNotContain(TOKEN);
    }

    /** Streams {@code docker export} and looks for the needle without holding the whole archive. */
    private static boolean exportContains(String container, byte[] needle) throws Exception {
        Process p = new ProcessBuilder("docker", "export", container).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        boolean found = false;
        try (InputStream in = p.getInputStream()) {
            byte[] buf = new byte[1 << 16];
            byte[] window = new byte[buf.length + needle.length];
            int carry = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                System.arraycopy(buf, 0, window, carry, n);
                int len = carry + n;
                if (indexOf(window, len, needle) >= 0) {
                    found = true;
                }
                carry = Math.min(needle.length - 1, len);
                System.arraycopy(window, len - carry, window, 0, carry);
            }
        }
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("docker export exit code").isZero();
        return found;
    }

    private static int indexOf(byte[] hay, int len, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= len; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
