package dev.derrick.junit;

import dev.derrick.api.ProviderUnavailableException;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.skippedWithReason;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.cause;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.instanceOf;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

/**
 * The extension with the real {@code docker} provider: containers gone after passing and failing tests, and the
 * disabled-without-Docker path with a dead socket.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class DockerProviderExtensionIT {
    static final String DEAD_SOCKET = "unix:///tmp/derrick-junit-no-such-docker.sock";
    static final Map<String, String> IDS = new ConcurrentHashMap<>();

    @BeforeAll
    static void writeConfig() throws Exception {
        String image = System.getenv().getOrDefault("DERRICK_BUSYBOX_IMAGE", "derrick-test/busybox:1");
        Files.createDirectories(Path.of("target"));
        Files.writeString(Path.of("target/junit-docker-workspace.json"), """
                {"name": "junit-docker", "image": "%s", "setup_script": "echo clean > state.txt"}
                """.formatted(image));
    }

    private static EngineExecutionResults run(Class<?> sample, Map<String, String> parameters) {
        IDS.clear();
        return EngineTestKit.engine("junit-jupiter").configurationParameters(parameters).selectors(selectClass(sample)).execute();
    }

    // ------------------------------------------------------------------------------------------ no engine

    @DerrickTest(disabledWithoutProvider = true)
    static class NeedsDockerAtADeadSocket {
        @DerrickWorkspace(config = "target/junit-docker-workspace.json", provider = "docker",
                options = "docker_host=" + DEAD_SOCKET)
        Workspace ws;

        @Test
        void t() {
            throw new AssertionError("must not run without an engine");
        }
    }

    @Test
    void withoutAnEngineTheClassIsDisabledWithTheReason() {
        run(NeedsDockerAtADeadSocket.class, Map.of("derrick.require.docker", "false")).containerEvents().assertThatEvents()
                .haveExactly(1, event(container(NeedsDockerAtADeadSocket.class.getSimpleName()),
                        skippedWithReason(r -> r.contains("derrick provider 'docker' is not available")
                                && r.contains("derrick-junit-no-such-docker.sock"))));
    }

    @Test
    void withoutAnEngineButRequiredTheClassFails() {
        run(NeedsDockerAtADeadSocket.class, Map.of("derrick.require.docker", "true")).containerEvents().assertThatEvents()
                .haveAtLeastOne(event(container(NeedsDockerAtADeadSocket.class.getSimpleName()),
                        finishedWithFailure(cause(instanceOf(ProviderUnavailableException.class),
                                message(m -> m.contains("derrick-junit-no-such-docker.sock")
                                        && m.contains("derrick.require.docker=true"))))));
    }

    // ------------------------------------------------------------------------------------------ real engine

    @DerrickTest
    @TestMethodOrder(MethodOrderer.MethodName.class)
    static class DockerSample {
        @DerrickWorkspace(config = "target/junit-docker-workspace.json", provider = "docker")
        Workspace ws;

        @Test
        void a_passes() {
            IDS.put("a", ws.id());
            assertThat(ws.exec("cat state.txt").stdout()).isEqualTo("clean\n");
        }

        @Test
        void b_fails() {
            IDS.put("b", ws.id());
            throw new AssertionError("deliberate failure");
        }
    }

    @Test
    void containersAreRemovedAfterPassingAndFailingTests() throws Exception {
        Availability docker = WorkspaceProviders.probe("docker", Map.of());
        if (!docker.available()) {
            assertThat(System.getenv("DERRICK_REQUIRE_DOCKER")).as("DERRICK_REQUIRE_DOCKER=true but " + docker.reason())
                    .isNotEqualToIgnoringCase("true");
            Assumptions.abort("no Docker engine: " + docker.reason());
        }
        run(DockerSample.class, Map.of()).testEvents().assertStatistics(s -> s.started(2).succeeded(1).failed(1));
        assertThat(Set.copyOf(IDS.values())).hasSize(2);
        for (String id : IDS.values()) {
            assertThat(containersLabelled("derrick.workspace=" + id)).as("containers of workspace " + id).isEmpty();
        }
    }

    @DerrickTest
    static class DockerKeepSample {
        @DerrickWorkspace(config = "target/junit-docker-workspace.json", provider = "docker",
                cleanup = CleanupMode.ON_SUCCESS)
        Workspace ws;

        @Test
        void fails() {
            IDS.put("kept", ws.id());
            ws.writeString("evidence.txt", "look here");
            throw new AssertionError("deliberate failure");
        }
    }

    @Test
    void theContainerOfAFailedOnSuccessTestOutlivesTheProvider() throws Exception {
        Availability docker = WorkspaceProviders.probe("docker", Map.of());
        if (!docker.available()) {
            assertThat(System.getenv("DERRICK_REQUIRE_DOCKER")).as("DERRICK_REQUIRE_DOCKER=true but " + docker.reason())
                    .isNotEqualToIgnoringCase("true");
            Assumptions.abort("no Docker engine: " + docker.reason());
        }
        EngineExecutionResults results = run(DockerKeepSample.class, Map.of());
        results.testEvents().assertStatistics(s -> s.started(1).failed(1));
        String id = IDS.get("kept");
        String container = containersLabelled("derrick.workspace=" + id);
        try {
            assertThat(container).as("kept after the extension closed its provider").isNotEmpty();
            assertThat(dockerCli("exec", container, "cat", "/evidence.txt")).isEqualTo("look here");
            assertThat(results.allEvents().reportingEntryPublished().stream()
                    .flatMap(e -> e.getPayload(org.junit.platform.engine.reporting.ReportEntry.class).stream())
                    .map(r -> r.getKeyValuePairs().get("derrick.kept")))
                    .anySatisfy(v -> assertThat(v).contains(id).contains("detached")
                            .contains("next start of provider 'docker'"));
        } finally {
            // its owner is this JVM, so no provider started here would reap it: remove it by hand
            if (!container.isEmpty()) {
                dockerCli("rm", "-f", container);
            }
        }
    }

    private static String dockerCli(String... args) throws Exception {
        String host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
        List<String> command = new java.util.ArrayList<>(List.of("docker", "-H", host));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out.strip();
    }

    private static String containersLabelled(String label) throws Exception {
        String host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
        Process p = new ProcessBuilder(List.of("docker", "-H", host, "ps", "-aq", "--filter", "label=" + label))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out.strip();
    }
}
