package dev.derrick.core.config;

import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.cache.CacheKey;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code network} field of a workspace config: its three forms, its errors, its round trip. */
class NetworkConfigTest {

    private static WorkspaceConfig parse(String network) {
        return WorkspaceConfig.fromJson("{\"name\": \"n\"" + (network == null ? "" : ", \"network\": " + network) + "}",
                "w.json");
    }

    @Test
    void absentIsOnInEveryPhase() {
        assertThat(parse(null).network()).isEqualTo(NetworkPolicy.ON);
        assertThat(WorkspaceConfig.builder("n").build().network()).isEqualTo(NetworkPolicy.ON);
    }

    @Test
    void stringFormsApplyToBothPhases() {
        assertThat(parse("\"off\"").network()).isEqualTo(NetworkPolicy.OFF);
        assertThat(parse("\"on\"").network()).isEqualTo(NetworkPolicy.ON);
        assertThat(parse("\" OFF \"").network()).isEqualTo(NetworkPolicy.OFF);
    }

    @Test
    void perPhaseObjectAndAMissingPhaseIsOn() {
        NetworkPolicy p = parse("{\"setup\": \"on\", \"commands\": \"off\"}").network();
        assertThat(p.allows(NetworkPolicy.Phase.SETUP)).isTrue();
        assertThat(p.allows(NetworkPolicy.Phase.COMMANDS)).isFalse();
        assertThat(p).hasToString("setup=on,commands=off");
        assertThat(parse("{\"setup\": \"off\"}").network()).isEqualTo(new NetworkPolicy(false, true));
    }

    @Test
    void badValuesNameTheField() {
        assertThatThrownBy(() -> parse("\"maybe\"")).isInstanceOf(InvalidConfigException.class)
                .hasMessageStartingWith("w.json: field 'network' must be \"on\", \"off\" or {")
                .hasMessageContaining("got \"maybe\"");
        assertThatThrownBy(() -> parse("true")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("field 'network' must be").hasMessageContaining("got true");
        assertThatThrownBy(() -> parse("{\"setup\": \"of\"}")).isInstanceOf(InvalidConfigException.class)
                .hasMessage("w.json: field 'network.setup' must be \"on\" or \"off\", got \"of\"");
        assertThatThrownBy(() -> parse("{\"commands\": false}")).isInstanceOf(InvalidConfigException.class)
                .hasMessage("w.json: field 'network.commands' must be \"on\" or \"off\", got false");
        assertThatThrownBy(() -> parse("{\"build\": \"on\"}")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("unknown field 'build' in network").hasMessageContaining("commands, setup");
        assertThatThrownBy(() -> WorkspaceConfig.fromJson("{\"name\": \"x\", \"network\": {\"setpu\": \"off\"}}", "w.json"))
                .hasMessageContaining("unknown field 'setpu' (did you mean 'setup'?) in network");
    }

    @Test
    void roundTripsAndLeavesTheDefaultOut() {
        for (NetworkPolicy p : new NetworkPolicy[]{NetworkPolicy.ON, NetworkPolicy.OFF, new NetworkPolicy(true, false),
                new NetworkPolicy(false, true)}) {
            WorkspaceConfig config = WorkspaceConfig.builder("n").network(p).build();
            assertThat(WorkspaceConfig.fromJson(config.toJson(), "round trip")).isEqualTo(config);
        }
        assertThat(WorkspaceConfig.builder("n").build().toJson()).doesNotContain("network");
        assertThat(WorkspaceConfig.builder("n").network(new NetworkPolicy(true, false)).build().toJson())
                .contains("\"setup\" : \"on\"").contains("\"commands\" : \"off\"");
        assertThat(WorkspaceConfig.builder("n").network(NetworkPolicy.OFF).build().withEnv(java.util.Map.of("A", "b"))
                .withImage("x").network()).isEqualTo(NetworkPolicy.OFF);
    }

    @Test
    void onlyTheSetupPhaseShapesTheCacheKey() {
        WorkspaceConfig on = WorkspaceConfig.builder("n").setupScript("make deps").build();
        CacheKey key = CacheKey.of("local", on);
        assertThat(CacheKey.of("local", on.withNetwork(new NetworkPolicy(true, false)))).isEqualTo(key);
        assertThat(CacheKey.of("local", on.withNetwork(NetworkPolicy.OFF))).isNotEqualTo(key);
        assertThat(CacheKey.of("local", on.withNetwork(new NetworkPolicy(false, true))))
                .isEqualTo(CacheKey.of("local", on.withNetwork(NetworkPolicy.OFF)));
    }
}
