package dev.derrick.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.api.spi.Availability;
import dev.derrick.docker.internal.DockerEngine;
import dev.derrick.docker.internal.DockerSettings;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Test images, engine checks and a raw docker-java client for looking behind the provider's back. */
final class DockerTestSupport {
    /** Busybox rootfs imported by scripts/test-env.sh: sh, no bash, no git. */
    static final String BUSYBOX = env("DERRICK_BUSYBOX_IMAGE", "derrick-test/busybox:1");
    /** Debian minbase with bash and git, built by scripts/test-env.sh. */
    static final String DEBIAN = env("DERRICK_DEBIAN_IMAGE", "derrick-test/debian:bookworm-git");

    private DockerTestSupport() {
    }

    /** Fails (DERRICK_REQUIRE_DOCKER=true) or skips visibly when there is no engine. */
    static void requireEngine() {
        Availability availability = WorkspaceProviders.probe("docker", Map.of());
        if (!availability.available()) {
            if (Boolean.parseBoolean(System.getenv("DERRICK_REQUIRE_DOCKER"))) {
                Assertions.fail("DERRICK_REQUIRE_DOCKER=true but " + availability.reason());
            }
            Assumptions.abort("no Docker engine: " + availability.reason());
        }
    }

    /**
     * A provider environment of just the given variables plus what the test run itself sets up: DOCKER_HOST and
     * DERRICK_CACHE_DIR (scripts/test points it at a directory of the run's own) when they are set.
     */
    static Map<String, String> providerEnv(String... keyValues) {
        Map<String, String> env = new HashMap<>();
        for (String name : List.of("DOCKER_HOST", "DERRICK_CACHE_DIR")) {
            if (System.getenv(name) != null) {
                env.put(name, System.getenv(name));
            }
        }
        for (int i = 0; i < keyValues.length; i += 2) {
            env.put(keyValues[i], keyValues[i + 1]);
        }
        return env;
    }

    static Map<String, Object> options(Object... keyValues) {
        Map<String, Object> options = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            options.put((String) keyValues[i], keyValues[i + 1]);
        }
        return options;
    }

    /** A raw engine connection with the default configuration. */
    static DockerEngine rawEngine() {
        return DockerEngine.connect(DockerSettings.parse(Map.of(), System.getenv()));
    }

    static List<Container> containersWithLabel(DockerClient client, String key, String value) {
        return client.listContainersCmd().withShowAll(true).withLabelFilter(Map.of(key, value)).exec();
    }

    /** Runs the docker CLI against the same engine; returns stdout bytes, failing on a non-zero exit. */
    static byte[] dockerCli(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add("docker");
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = p.getInputStream()) {
            in.transferTo(out);
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("docker " + String.join(" ", args) + " did not finish");
        }
        if (p.exitValue() != 0) {
            throw new IOException("docker " + String.join(" ", args) + " exited with " + p.exitValue());
        }
        return out.toByteArray();
    }

    static String dockerCliText(String... args) throws IOException, InterruptedException {
        return new String(dockerCli(args), StandardCharsets.UTF_8);
    }

    private static String env(String key, String fallback) {
        String v = System.getenv(key);
        return v == null || v.isBlank() ? fallback : v;
    }
}
