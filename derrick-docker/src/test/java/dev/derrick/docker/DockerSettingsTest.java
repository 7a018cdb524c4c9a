package dev.derrick.docker;

import dev.derrick.docker.internal.DockerSettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DockerSettingsTest {
    @Test
    void defaultsAreDocumentedOnes() {
        DockerSettings s = DockerSettings.parse(Map.of(), Map.of());
        assertThat(s.dockerHost()).isNull();
        assertThat(s.apiVersion()).isNull();
        assertThat(s.defaultImage()).isEqualTo("debian:bookworm-slim");
        assertThat(s.root()).isEqualTo("/");
        assertThat(s.networkMode()).as("bridge or none, decided with the engine").isNull();
        assertThat(s.pidsLimit()).isZero();
        assertThat(s.nanoCpus()).isZero();
        assertThat(s.memoryBytes()).isZero();
        assertThat(s.pull()).isTrue();
        assertThat(s.reapOrphans()).isTrue();
        assertThat(s.execTimeout()).isEqualTo(Duration.ofMinutes(30));
    }

    @Test
    void optionsOverrideTheEnvironment() {
        DockerSettings s = DockerSettings.parse(Map.of("docker_host", "tcp://127.0.0.1:2375", "api_version", "v1.41",
                "cpus", "1.5", "memory", "512m", "pids", "64", "network_mode", "host", "root", "/work/./space/", "labels", Map.of("team", "a"),
                "exec_timeout", 90), Map.of("DOCKER_HOST", "unix:///nope.sock"));
        assertThat(s.dockerHost()).isEqualTo("tcp://127.0.0.1:2375");
        assertThat(s.apiVersion()).isEqualTo("1.41");
        assertThat(s.nanoCpus()).isEqualTo(1_500_000_000L);
        assertThat(s.memoryBytes()).isEqualTo(512L << 20);
        assertThat(s.pidsLimit()).isEqualTo(64);
        assertThat(s.networkMode()).isEqualTo("host");
        assertThat(s.root()).isEqualTo("/work/space");
        assertThat(s.labels()).containsEntry("team", "a");
        assertThat(s.execTimeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(DockerSettings.parse(Map.of(), Map.of("DOCKER_HOST", "unix:///x.sock")).dockerHost())
                .isEqualTo("unix:///x.sock");
    }

    @Test
    void badValuesAreNamed() {
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("colour", "red"), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("colour").hasMessageContaining("docker_host");
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("memory", "lots"), Map.of()))
                .hasMessageContaining("memory").hasMessageContaining("lots");
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("pids", "many"), Map.of()))
                .hasMessage("option 'pids' of provider 'docker' must be a whole number of processes like 256, got 'many'");
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("docker_host", "/var/run/docker.sock"), Map.of()))
                .hasMessageContaining("unix://");
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("root", "relative"), Map.of()))
                .hasMessageContaining("absolute");
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("labels", Map.of("derrick.session", "x")), Map.of()))
                .hasMessageContaining("derrick.");
        assertThatThrownBy(() -> DockerSettings.parse(Map.of("api_version", "latest"), Map.of()))
                .hasMessageContaining("1.41");
    }
}
