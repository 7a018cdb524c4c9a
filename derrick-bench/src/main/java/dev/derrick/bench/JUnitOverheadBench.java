package dev.derrick.bench;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.junit.DerrickTest;
import dev.derrick.junit.DerrickWorkspace;
import dev.derrick.tck.GitTestServer;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.EventType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-test overhead of derrick's JUnit extension: the same trivial test, repeated {@value #TESTS} times per class,
 * run through JUnit's {@code EngineTestKit} without a workspace and with a fresh workspace per test (an instance
 * field) from the local provider and, when an engine is there, the docker provider. A test's time is from its
 * STARTED to its FINISHED event, so it includes creating and closing its workspace. The workspace config clones a
 * small repository from a token-protected {@link GitTestServer} and runs a setup script, so providers that cache
 * clean states serve every test after the first from their cache. Variants take turns round by round.
 *
 * <pre>
 * ./mvnw -q -pl derrick-bench -am exec:java -Dexec.mainClass=dev.derrick.bench.JUnitOverheadBench [-Dexec.args="rounds"]
 * </pre>
 */
public final class JUnitOverheadBench {
    static final int TESTS = 20;
    static final String DIR = "/tmp/derrick-bench-junit";
    static final String LOCAL_CONFIG = DIR + "/local.json";
    static final String DOCKER_CONFIG = DIR + "/docker.json";

    private JUnitOverheadBench() {
    }

    /** The baseline: no workspace. */
    public static class NoWorkspace {
        @RepeatedTest(TESTS)
        void test() {
            Math.sqrt(42);
        }
    }

    /** A fresh local workspace per test. */
    @DerrickTest
    public static class LocalWorkspacePerTest {
        @DerrickWorkspace(config = LOCAL_CONFIG)
        Workspace ws;

        @RepeatedTest(TESTS)
        void test() {
            ws.id();
        }
    }

    /** A fresh docker workspace per test. */
    @DerrickTest
    public static class DockerWorkspacePerTest {
        @DerrickWorkspace(config = DOCKER_CONFIG, provider = "docker")
        Workspace ws;

        @RepeatedTest(TESTS)
        void test() {
            ws.id();
        }
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        String token = "bench-junit-token";
        try (GitTestServer git = GitTestServer.start(token)) {
            git.createRepository("app", Map.of("README.md", "bench\n", "src/Main.java", "class Main {}\n"));
            Files.createDirectories(Path.of(DIR));
            String repo = "\"repositories\": [{\"url\": \"" + git.url("app") + "\", \"path\": \"code/app\", \"auth\": {\"token\": \""
                    + token + "\"}}], \"setup_script\": \"echo ready > setup.txt\"";
            Files.writeString(Path.of(LOCAL_CONFIG), "{\"name\": \"bench-junit-local\", " + repo + "}");
            String image = System.getenv().getOrDefault("DERRICK_BUSYBOX_IMAGE", "derrick-test/busybox:1");
            Files.writeString(Path.of(DOCKER_CONFIG), "{\"name\": \"bench-junit-docker\", \"image\": \"" + image + "\", " + repo + "}");

            Map<String, Class<?>> variants = new LinkedHashMap<>();
            variants.put("no workspace", NoWorkspace.class);
            variants.put("local: fresh workspace per test", LocalWorkspacePerTest.class);
            var docker = WorkspaceProviders.probe("docker", Map.of());
            if (docker.available()) {
                variants.put("docker: fresh workspace per test", DockerWorkspacePerTest.class);
            } else {
                System.out.println("docker: skipped (" + docker.reason() + ")");
            }
            Map<String, Stats> stats = new LinkedHashMap<>();
            Map<String, Stats> firsts = new LinkedHashMap<>();
            variants.keySet().forEach(k -> {
                stats.put(k, new Stats(k + " (tests 2..N)"));
                firsts.put(k, new Stats(k + " (first test of a class)"));
            });
            for (int round = 0; round < rounds; round++) {
                for (Map.Entry<String, Class<?>> v : variants.entrySet()) {
                    List<Duration> times = run(v.getValue());
                    firsts.get(v.getKey()).add(times.get(0));
                    times.subList(1, times.size()).forEach(stats.get(v.getKey())::add);
                }
            }
            System.out.println("per-test time, " + rounds + " rounds x " + TESTS + " tests, variants interleaved:");
            firsts.values().forEach(s -> System.out.println(s.line()));
            stats.values().forEach(s -> System.out.println(s.line()));
            Stats base = stats.get("no workspace");
            for (Map.Entry<String, Stats> e : stats.entrySet()) {
                if (e.getValue() != base) {
                    System.out.printf(Locale.ROOT, "%-48s +%.1f ms per test (median)%n", "overhead, " + e.getKey(),
                            e.getValue().medianMillis() - base.medianMillis());
                }
            }
        }
    }

    private static List<Duration> run(Class<?> sample) {
        List<Event> events = EngineTestKit.engine("junit-jupiter").selectors(
                org.junit.platform.engine.discovery.DiscoverySelectors.selectClass(sample)).execute().testEvents().list();
        Map<String, Event> started = new HashMap<>();
        List<Duration> times = new ArrayList<>();
        for (Event e : events) {
            String id = e.getTestDescriptor().getUniqueId().toString();
            if (e.getType() == EventType.STARTED) {
                started.put(id, e);
            } else if (e.getType() == EventType.FINISHED) {
                TestExecutionResult result = e.getRequiredPayload(TestExecutionResult.class);
                if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    throw new IllegalStateException(sample.getSimpleName() + " failed: " + result.getThrowable().orElse(null));
                }
                times.add(Duration.between(started.get(id).getTimestamp(), e.getTimestamp()));
            }
        }
        if (times.size() != TESTS) {
            throw new IllegalStateException(sample.getSimpleName() + " ran " + times.size() + " tests, expected " + TESTS);
        }
        return times;
    }
}
