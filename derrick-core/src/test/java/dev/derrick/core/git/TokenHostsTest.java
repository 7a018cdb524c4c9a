package dev.derrick.core.git;

import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenHostsTest {
    @Test
    void hostsOfCloneUrls() {
        assertThat(TokenHosts.host("https://GitHub.com/o/r.git")).hasValue("github.com");
        assertThat(TokenHosts.host("http://127.0.0.1:8080/git/a.git")).hasValue("127.0.0.1");
        assertThat(TokenHosts.host("ssh://git@host.example:22/o/r")).hasValue("host.example");
        assertThat(TokenHosts.host("git@github.com:o/r.git")).hasValue("github.com");
        assertThat(TokenHosts.host("http://[::1]:9/r.git")).hasValue("::1");
        assertThat(TokenHosts.host("file:///srv/r.git")).isEmpty();
        assertThat(TokenHosts.host("/srv/r.git")).isEmpty();
        assertThat(TokenHosts.host("./r")).isEmpty();
        assertThat(TokenHosts.host("not a url")).isEmpty();
        assertThatThrownBy(() -> TokenHosts.host("ftp://h/r")).isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("ftp");
        assertThatThrownBy(() -> TokenHosts.host("https:///r")).hasMessageContaining("no host");
        // user info cannot smuggle another host past the parser
        assertThat(TokenHosts.host("https://github.com@evil.example/r.git")).hasValue("evil.example");
    }

    @Test
    void policyFromTheServerConfigPlusOperatorHosts() {
        WorkspaceConfig config = WorkspaceConfig.builder("c")
                .repository(RepositoryConfig.of("https://github.com/o/a.git", "a").withAuth(GitAuth.fromEnv("GH")))
                .repository(RepositoryConfig.of("https://gitlab.example/o/b.git", "b").withAuth(GitAuth.inline("t")))
                .repository(RepositoryConfig.of("/local/c", "c").withAuth(GitAuth.fromEnv("LOCAL")))
                .build();
        TokenHosts policy = TokenHosts.fromConfig(config).plus("GH=ghe.example").plus("OTHER", "x.example");
        assertThat(policy.hostsFor("GH")).isEqualTo(Set.of("github.com", "ghe.example"));
        assertThat(policy.hostsFor("LOCAL")).isEmpty();
        assertThat(policy.allows(GitAuth.fromEnv("GH"), "GITHUB.COM")).isTrue();
        assertThat(policy.allows(GitAuth.fromEnv("GH"), "x.example")).isFalse();
        assertThat(policy.allows(GitAuth.inline("t"), "gitlab.example")).isTrue();
        assertThat(policy.allows(GitAuth.inline("t"), "evil.example")).isFalse();
        assertThatThrownBy(() -> policy.check(RepositoryConfig.of("https://evil.example/r", "r")
                .withAuth(GitAuth.fromEnv("GH")), "config.repositories[0]"))
                .isInstanceOf(InvalidConfigException.class)
                .hasMessageContaining("config.repositories[0].auth.token_env")
                .hasMessageContaining("--token-host GH=evil.example");
        assertThatThrownBy(() -> TokenHosts.none().plus("no-equals")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TokenHosts.none().plus("1BAD=h")).hasMessageContaining("not an environment variable");
        assertThat(TokenHosts.of(Map.of("A", Set.of("H")))).extracting(t -> t.hostsFor("A")).isEqualTo(Set.of("h"));
        assertThat(Optional.of(policy).map(TokenHosts::allHosts).orElseThrow())
                .contains("github.com", "ghe.example", "gitlab.example", "x.example");
    }
}
