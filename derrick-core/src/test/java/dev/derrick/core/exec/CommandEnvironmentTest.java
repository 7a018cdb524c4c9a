package dev.derrick.core.exec;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class CommandEnvironmentTest {
    @Test
    void keepsOnlyTheAllowListOfTheProviderEnvironment() {
        CommandEnvironment env = new CommandEnvironment(Map.of(
                "PATH", "/opt/bin:/usr/bin", "HOME", "/home/me", "LANG", "C.UTF-8", "TZ", "UTC",
                "GITHUB_TOKEN", "ghp_secret", "AWS_SECRET_ACCESS_KEY", "aws", "DERRICK_API_TOKEN", "api"));
        assertThat(env.base()).containsOnlyKeys("PATH", "HOME", "LANG", "TZ");
        assertThat(env.base()).containsEntry("PATH", "/opt/bin:/usr/bin");
    }

    @Test
    void layersConfigThenRequestOverTheAllowList() {
        CommandEnvironment env = new CommandEnvironment(Map.of("HOME", "/home/me", "TERM", "xterm"));
        Map<String, String> built = env.build(Map.of("HOME", "/work", "CI", "true", "MODE", "config"), Map.of("MODE", "request"));
        assertThat(built).containsEntry("HOME", "/work").containsEntry("CI", "true").containsEntry("MODE", "request")
                .containsEntry("TERM", "xterm");
        assertThat(env.build(null, null)).isEqualTo(env.base());
    }

    @Test
    void suppliesADefaultPath() {
        assertThat(new CommandEnvironment(Map.of()).base()).isEqualTo(Map.of("PATH", CommandEnvironment.DEFAULT_PATH));
    }
}
